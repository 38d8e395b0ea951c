/**
 * One turn of the model for an agent: its parts handed over batch by batch, with tool-call resolution left to the
 * agent. Through `LanguageModel.streamText` in general; for a provider that exposes its raw parts (the mock, OpenAI
 * Chat Completions), the same parts decoded with a schema built once per toolkit, because `streamText` rebuilds
 * @effect/ai's `Response.StreamPart(toolkit)` schema on every call: with the codex toolkit, 2.5-3.7 ms to build and
 * 0.6-1.3 ms to compile on its first decode, on this machine, more than the rest of a mock run put together. Raw parts
 * come as a push (`RawParts`) and are decoded in place: no Stream stage between the provider and the agent.
 */
import * as AiError from "@effect/ai/AiError"
import type * as Prompt from "@effect/ai/Prompt"
import * as Response from "@effect/ai/Response"
import type * as Tool from "@effect/ai/Tool"
import type * as Toolkit from "@effect/ai/Toolkit"
import { Chunk, Effect, Schema, Stream } from "effect"
import { compiledIs } from "../Domain/CompiledIs.js"
import type { ResolvedModel } from "../Llm/ProviderRegistry.js"

type AgentToolkit = Toolkit.WithHandler<Record<string, Tool.Any>>
type Part = Response.StreamPart<Record<string, Tool.Any>>

/** Decodes a batch of encoded parts and hands them to `onParts`. */
type Decoder = <E>(
  encoded: ReadonlyArray<Response.StreamPartEncoded>,
  onParts: (parts: Chunk.Chunk<Part>) => Effect.Effect<unknown, E>
) => Effect.Effect<unknown, AiError.MalformedOutput | E>

const decoders = new WeakMap<AgentToolkit, Decoder>()

const decoderFor = (toolkit: AgentToolkit) => {
  const known = decoders.get(toolkit)
  if (known !== undefined) return known
  const decodeChunk = Schema.decode(Schema.ChunkFromSelf(Response.StreamPart(toolkit)))
  // Text parts are most of a response and, with a turn's finish, have no tool schema in them: built directly; the
  // decoder gets the rest.
  const decode: Decoder = (encoded, onParts) => {
    const plain = encoded.map(plainPart)
    const others = encoded.filter((_, index) => plain[index] === undefined)
    if (others.length === 0) {
      // Text parts only, the usual batch: nothing for the decoder, and straight to `onParts`.
      return onParts(Chunk.unsafeFromArray(plain.filter((part): part is Part => part !== undefined)))
    }
    const decodedOthers = decodeChunk(Chunk.unsafeFromArray(others)).pipe(
      Effect.mapError((error) =>
        AiError.MalformedOutput.fromParseError({ module: "LanguageModel", method: "streamText", error })
      )
    )
    return Effect.flatMap(decodedOthers, (decoded) => {
      let next = 0
      return onParts(Chunk.unsafeFromArray(plain.map((part) => part ?? Chunk.unsafeGet(decoded, next++))))
    })
  }
  decoders.set(toolkit, decode)
  return decode
}

/** The encoded form of a finish part without metadata, checked without the parser. */
const isPlainFinish = compiledIs(Schema.Struct({
  type: Schema.Literal("finish"),
  reason: Response.FinishReason,
  usage: Schema.encodedSchema(Response.Usage)
}))

/**
 * A text or finish part without metadata, as its decoded form; `undefined` for every other part (the decoder's job).
 * The finish part comes once per turn, but the toolkit's whole part union decoding it cost ~90 µs per run in a
 * profile of the gateway at 100 runs.
 */
const plainPart = (part: Response.StreamPartEncoded): Part | undefined => {
  switch (part.type) {
    // Built as literals, as `Response.makePart` builds them: its spread of the parameters was ~1 µs per token.
    case "text-start":
    case "text-end":
      return part.metadata === undefined && typeof part.id === "string"
        ? { [Response.PartTypeId]: Response.PartTypeId, type: part.type, id: part.id, metadata: {} }
        : undefined
    case "text-delta":
      return part.metadata === undefined && typeof part.id === "string" && typeof part.delta === "string"
        ? {
          [Response.PartTypeId]: Response.PartTypeId,
          type: "text-delta",
          id: part.id,
          delta: part.delta,
          metadata: {}
        }
        : undefined
    case "finish":
      return part.metadata === undefined && isPlainFinish(part)
        ? Response.makePart("finish", { reason: part.reason, usage: new Response.Usage(part.usage, true) })
        : undefined
    default:
      return undefined
  }
}

export const runTurn = <E>(
  model: ResolvedModel,
  prompt: Prompt.Prompt,
  toolkit: AgentToolkit,
  onParts: (parts: Chunk.Chunk<Part>) => Effect.Effect<unknown, E>
): Effect.Effect<void, AiError.AiError | E> => {
  const raw = model.rawParts
  if (raw === undefined) {
    return Stream.runForEachChunk(
      model.languageModel.streamText({ prompt, toolkit, disableToolCallResolution: true }),
      onParts
    )
  }
  const decode = decoderFor(toolkit)
  // What `LanguageModel.streamText` hands its provider: the same span name, the tools offered, text responses.
  return Effect.useSpan("LanguageModel.streamText", { captureStackTrace: false }, (span) =>
    raw(
      { prompt, tools: Object.values(toolkit.tools), toolChoice: "auto", responseFormat: { type: "text" }, span },
      (encoded) => decode(encoded, onParts)
    ))
}
