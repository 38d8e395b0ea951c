/** The LLM loop shared by the agents: stream the model's reply as outputs, ending with `RunCompleted`. */
import type { AiError, Response, Tool } from "@effect/ai"
import { Option, Stream } from "effect"
import { ProviderFailed } from "../Domain/RunError.js"
import { Usage } from "../Domain/Usage.js"
import type { AgentContext } from "./Agent.js"
import type { AgentOutput, AgentOutputOf } from "./AgentOutput.js"
import * as AgentTools from "./AgentTools.js"

/** A provider's failure as the client sees it, keeping the HTTP status when there was one. */
export const toProviderFailed = (provider: string, error: AiError.AiError): ProviderFailed =>
  new ProviderFailed({
    provider,
    reason: error.description ?? error.message,
    ...(error._tag === "HttpResponseError" ? { status: error.response.status } : {})
  })

export const completed = (text: string, usage: Usage): AgentOutputOf<"RunCompleted"> => ({
  _tag: "RunCompleted",
  text,
  usage,
  durationMs: 0
})

export const noUsage = new Usage({ inputTokens: 0, outputTokens: 0 })

/**
 * Prompts the run's model and streams its text as `TokenDelta` and its tool calls as `ToolCalled` (not executed yet),
 * then `RunCompleted` with the whole text and the provider's usage.
 */
export const promptModel = (
  context: AgentContext,
  prompt: string,
  tools: ReadonlyArray<AgentTools.ToolDeclaration>
): Stream.Stream<AgentOutput, ProviderFailed> =>
  Stream.suspend(() => {
    let text = ""
    let usage = noUsage
    const toOutput = (part: Response.StreamPart<Record<string, Tool.Any>>): Option.Option<AgentOutput> => {
      switch (part.type) {
        case "text-delta":
          text += part.delta
          return Option.some({ _tag: "TokenDelta", text: part.delta })
        case "tool-call":
          return Option.some({ _tag: "ToolCalled", callId: part.id, name: part.name, params: part.params })
        case "finish":
          usage = new Usage({
            inputTokens: part.usage.inputTokens ?? 0,
            outputTokens: part.usage.outputTokens ?? 0
          }, true)
          return Option.none()
        default:
          return Option.none()
      }
    }
    return context.model.languageModel.streamText({
      prompt,
      toolkit: AgentTools.declare(tools),
      disableToolCallResolution: true
    }).pipe(
      Stream.filterMap(toOutput),
      Stream.mapError((error) => toProviderFailed(context.model.provider, error)),
      Stream.concat(Stream.sync(() => completed(text, usage)))
    )
  })
