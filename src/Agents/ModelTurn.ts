/**
 * One turn of the model for an agent: its parts, with tool-call resolution left to the agent. Through
 * `LanguageModel.streamText` in general; for a provider that exposes its raw parts (the mock), the same parts decoded
 * with a schema built once per toolkit, because `streamText` rebuilds @effect/ai's `Response.StreamPart(toolkit)`
 * schema on every call: ~9 ms to build and ~12 ms per call with the codex toolkit on this machine
 * (scratchpad/streampart-cost.ts), more than the rest of a mock run put together.
 */
import * as AiError from "@effect/ai/AiError"
import type * as Prompt from "@effect/ai/Prompt"
import * as Response from "@effect/ai/Response"
import type * as Tool from "@effect/ai/Tool"
import type * as Toolkit from "@effect/ai/Toolkit"
import { Chunk, Effect, ParseResult, Schema, Stream } from "effect"
import type { ResolvedModel } from "../Llm/ProviderRegistry.js"

type AgentToolkit = Toolkit.WithHandler<Record<string, Tool.Any>>
type Part = Response.StreamPart<Record<string, Tool.Any>>

const decoders = new WeakMap<
  AgentToolkit,
  (parts: Chunk.Chunk<Response.StreamPartEncoded>) => Effect.Effect<Chunk.Chunk<Part>, ParseResult.ParseError>
>()

const decoderFor = (toolkit: AgentToolkit) => {
  const known = decoders.get(toolkit)
  if (known !== undefined) return known
  const decodeChunk = Schema.decode(Schema.ChunkFromSelf(Response.StreamPart(toolkit)))
  // Text deltas are most of a response and have no tool schema in them: built directly; the decoder gets the rest.
  const decode = (parts: Chunk.Chunk<Response.StreamPartEncoded>) => {
    const others = Chunk.filter(parts, (part) => !isPlainTextDelta(part))
    const decodedOthers = Chunk.isEmpty(others) ? Effect.succeed(Chunk.empty<Part>()) : decodeChunk(others)
    return Effect.map(decodedOthers, (decoded) => {
      const decodedParts: Array<Part> = []
      let next = 0
      for (const part of parts) {
        decodedParts.push(
          isPlainTextDelta(part)
            ? Response.makePart("text-delta", { id: part.id, delta: part.delta })
            : Chunk.unsafeGet(decoded, next++)
        )
      }
      return Chunk.unsafeFromArray(decodedParts)
    })
  }
  decoders.set(toolkit, decode)
  return decode
}

const isPlainTextDelta = (part: Response.StreamPartEncoded): part is Response.TextDeltaPartEncoded =>
  part.type === "text-delta" && part.metadata === undefined && typeof part.delta === "string" &&
  typeof part.id === "string"

export const streamTurn = (
  model: ResolvedModel,
  prompt: Prompt.Prompt,
  toolkit: AgentToolkit
): Stream.Stream<Part, AiError.AiError> => {
  const raw = model.rawStream
  if (raw === undefined) return model.languageModel.streamText({ prompt, toolkit, disableToolCallResolution: true })
  const decode = decoderFor(toolkit)
  // What `LanguageModel.streamText` hands its provider: the same span name, the tools offered, text responses.
  return Stream.unwrapScoped(Effect.map(
    Effect.makeSpanScoped("LanguageModel.streamText", { captureStackTrace: false }),
    (span) =>
      raw({ prompt, tools: Object.values(toolkit.tools), toolChoice: "auto", responseFormat: { type: "text" }, span }).pipe(
        Stream.mapChunksEffect(decode),
        Stream.mapError((error) =>
          ParseResult.isParseError(error)
            ? AiError.MalformedOutput.fromParseError({ module: "LanguageModel", method: "streamText", error })
            : error
        )
      )
  ))
}
