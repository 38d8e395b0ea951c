/** Helpers of the provider tests: one streamed turn with the agent's tools, its parts, and its failure without the key. */
import type { AiError, LanguageModel, Response, Tool } from "@effect/ai"
import type * as Prompt from "@effect/ai/Prompt"
import { Cause, Chunk, Effect, Either, Stream } from "effect"
import { expect } from "vitest"
import * as AgentTools from "../../src/Agents/AgentTools.js"
import { runTurn } from "../../src/Agents/ModelTurn.js"
import type { ResolvedModel } from "../../src/Llm/ProviderRegistry.js"

export type Part = Response.StreamPart<Record<string, Tool.Any>>

/** One turn as the agent loop asks for it: the agent's tools declared, tool calls left to the agent. */
export const stream = (model: LanguageModel.Service, prompt = "hi") =>
  model.streamText({ prompt, toolkit: AgentTools.toolkit, disableToolCallResolution: true })

/** All the parts of one streamed turn, or its error; a hang fails the test after 5 s. */
export const collect = (model: LanguageModel.Service) =>
  stream(model).pipe(
    Stream.runCollect,
    Effect.map((parts): ReadonlyArray<Part> => Chunk.toReadonlyArray(parts)),
    Effect.timeoutFail({ duration: "5 seconds", onTimeout: () => new Error("the stream hung") }),
    Effect.either
  )

/** Every part of one model turn as the agents take it (`Agents/ModelTurn.runTurn`), in order. */
export const turnParts = (model: ResolvedModel, prompt: Prompt.Prompt) =>
  Effect.suspend(() => {
    const parts: Array<Part> = []
    return runTurn(model, prompt, AgentTools.toolkit, (batch) => Effect.sync(() => parts.push(...batch))).pipe(
      Effect.as<ReadonlyArray<Part>>(parts)
    )
  })

export const textOf = (parts: ReadonlyArray<Part>) =>
  parts.flatMap((part) => part.type === "text-delta" ? [part.delta] : []).join("")

/** Every way an error could be shown: message, JSON, inspection, a pretty cause. */
const renderings = (error: AiError.AiError) => [
  error.message,
  String(error),
  JSON.stringify(error),
  Cause.pretty(Cause.fail(error))
]

export const expectNoSecret = (error: AiError.AiError, secret: string) => {
  for (const text of renderings(error)) expect(text).not.toContain(secret)
}

export const failureFree = (result: Either.Either<ReadonlyArray<Part>, AiError.AiError | Error>): ReadonlyArray<Part> => {
  if (Either.isLeft(result)) throw new Error(`the stream failed: ${result.left.message}`)
  return result.right
}

/** The stream's failure, which must be an `AiError`. */
export const failureOf = (result: Either.Either<ReadonlyArray<Part>, AiError.AiError | Error>): AiError.AiError => {
  if (Either.isRight(result)) throw new Error("expected the stream to fail")
  const error = result.left
  if (error instanceof Error && !("_tag" in error)) throw error
  if (!("_tag" in error)) throw new Error("not an AiError")
  return error
}
