/**
 * One turn of the model for an agent: its parts, with tool-call resolution left to the agent. Through
 * `LanguageModel.streamText` in general; for a provider that exposes its raw parts (the mock, OpenAI Chat
 * Completions), the same parts decoded with a schema built once per toolkit, because `streamText` rebuilds
 * @effect/ai's `Response.StreamPart(toolkit)` schema on every call: with the codex toolkit, 2.5-3.7 ms to build and
 * 0.6-1.3 ms to compile on its first decode, on this machine, more than the rest of a mock run put together.
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
  // Text parts are most of a response and have no tool schema in them: built directly; the decoder gets the rest.
  const decode = (parts: Chunk.Chunk<Response.StreamPartEncoded>) => {
    const encoded = Chunk.toReadonlyArray(parts)
    const plain = encoded.map(plainTextPart)
    const others = encoded.filter((_, index) => plain[index] === undefined)
    const decodedOthers = others.length === 0
      ? Effect.succeed(Chunk.empty<Part>())
      : decodeChunk(Chunk.unsafeFromArray(others))
    return Effect.map(decodedOthers, (decoded) => {
      let next = 0
      return Chunk.unsafeFromArray(plain.map((part) => part ?? Chunk.unsafeGet(decoded, next++)))
    })
  }
  decoders.set(toolkit, decode)
  return decode
}

/** A text part without metadata, as its decoded form; `undefined` for every other part (the decoder's job). */
const plainTextPart = (part: Response.StreamPartEncoded): Part | undefined => {
  switch (part.type) {
    case "text-start":
    case "text-end":
      return part.metadata === undefined && typeof part.id === "string"
        ? Response.makePart(part.type, { id: part.id })
        : undefined
    case "text-delta":
      return part.metadata === undefined && typeof part.id === "string" && typeof part.delta === "string"
        ? Response.makePart("text-delta", { id: part.id, delta: part.delta })
        : undefined
    default:
      return undefined
  }
}

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
