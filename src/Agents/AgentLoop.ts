/**
 * The LLM loop shared by the agents: prompt the model, stream its text, perform the tool calls it asks for, give it
 * the results and prompt it again, until it answers without tool calls (`RunCompleted`) or `maxSteps` turns are spent.
 */
import type * as AiError from "@effect/ai/AiError"
import * as Prompt from "@effect/ai/Prompt"
import type * as Response from "@effect/ai/Response"
import type * as Tool from "@effect/ai/Tool"
import { Chunk, type Context, Effect, Stream } from "effect"
import { AgentFailed, ProviderFailed } from "../Domain/RunError.js"
import { Usage } from "../Domain/Usage.js"
import type { AgentContext } from "./Agent.js"
import type { AgentOutput, AgentOutputOf } from "./AgentOutput.js"
import type { EmitOutputs } from "./AgentRunner.js"
import { runTurn } from "./ModelTurn.js"
import type { Subagents } from "./Subagents.js"
import type { RunTools, ToolCall } from "./Tools.js"

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

export const noUsage: Usage = { inputTokens: 0, outputTokens: 0 }

const addUsage = (a: Usage, b: Usage): Usage => ({
  inputTokens: a.inputTokens + b.inputTokens,
  outputTokens: a.outputTokens + b.outputTokens
})

/** The loop ran out of turns while the model still asked for tools. */
export const stepsExhausted = (context: AgentContext): AgentFailed =>
  new AgentFailed({
    runId: context.runId,
    reason: `the model still asked for tools after ${context.maxSteps} turns (agents.maxSteps)`
  })

/**
 * Runs the loop from a user prompt, handing its outputs to `emit`. Each turn streams the model's text as `TokenDelta`;
 * its tool calls are then performed one after the other, in order (`ToolCalled`, the tool's events, `ToolResult`),
 * and the next turn sees the whole conversation so far. The run completes with the text of the last turn (the
 * answer) and the usage summed over all turns. If turn `maxSteps` still asks for tools, those calls are not
 * performed and the run fails with `AgentFailed` (the model never answered; its partial text was streamed already).
 * `subagents` is provided to the tool calls only (a turn without any pays nothing for it).
 */
export const run = (
  context: AgentContext,
  tools: RunTools,
  prompt: string,
  emit: EmitOutputs,
  subagents: Context.Context<Subagents>
): Effect.Effect<void, ProviderFailed | AgentFailed> => {
  const turn = (
    step: number,
    history: ReadonlyArray<Prompt.Message>,
    usage: Usage
  ): Effect.Effect<void, ProviderFailed | AgentFailed> =>
    Effect.suspend(() => {
      let text = ""
      let turnUsage = noUsage
      const calls: Array<ToolCall> = []
      // One pass over each batch of parts, straight into `emit`: no Stream between a raw provider and the client.
      const reply = runTurn(
        context.model,
        Prompt.fromMessages(history),
        tools.toolkit,
        (parts: Chunk.Chunk<Response.StreamPart<Record<string, Tool.Any>>>) => {
          const outputs: Array<AgentOutput> = []
          for (const part of parts) {
            switch (part.type) {
              case "text-delta":
                text += part.delta
                outputs.push({ _tag: "TokenDelta", text: part.delta })
                break
              case "tool-call":
                calls.push({ id: part.id, name: part.name, params: part.params })
                break
              case "finish":
                turnUsage = { inputTokens: part.usage.inputTokens ?? 0, outputTokens: part.usage.outputTokens ?? 0 }
            }
          }
          return outputs.length === 0 ? Effect.void : emit(Chunk.unsafeFromArray(outputs))
        }
      ).pipe(Effect.mapError((error) => toProviderFailed(context.model.provider, error)))
      const afterwards = Effect.suspend(() => {
        const total = addUsage(usage, turnUsage)
        if (calls.length === 0) return Effect.asVoid(emit(Chunk.of(completed(text, total))))
        if (step >= context.maxSteps) return Effect.fail(stepsExhausted(context))
        const results: Array<Prompt.ToolResultPart> = []
        const performed = Effect.forEach(calls, (call) =>
          Stream.runForEachChunk(tools.call(call), (outputs) => {
            for (const output of outputs) {
              if (output._tag !== "ToolResult" || output.callId !== call.id) continue
              results.push(Prompt.toolResultPart({
                id: call.id,
                name: call.name,
                isFailure: output.isError,
                result: output.result,
                providerExecuted: false
              }))
            }
            return emit(outputs)
          }), { discard: true }).pipe(Effect.provide(subagents))
        const asked = Prompt.assistantMessage({
          content: [
            ...(text === "" ? [] : [Prompt.textPart({ text })]),
            ...calls.map((call) =>
              Prompt.toolCallPart({ id: call.id, name: call.name, params: call.params, providerExecuted: false })
            )
          ]
        })
        return Effect.zipRight(
          performed,
          Effect.suspend(() => turn(step + 1, [...history, asked, Prompt.toolMessage({ content: results })], total))
        )
      })
      return Effect.zipRight(reply, afterwards)
    })
  return turn(1, [Prompt.userMessage({ content: [Prompt.textPart({ text: prompt })] })], noUsage)
}
