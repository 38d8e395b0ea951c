/**
 * The wire format of OpenAI's Chat Completions API as spoken by OpenAI and the compatible servers (vLLM, llama.cpp,
 * Ollama, LiteLLM): the request body we send, the Schemas of the streamed chunks and error bodies we receive, and the
 * server-sent-events framing those chunks travel in. Decoding is lenient about fields we do not use (compatible
 * servers differ in what they add or leave out) and strict about the ones we do.
 */
import { Chunk, Effect, Schema, Stream } from "effect"

// =============================================================================
// Request (what we send; built by us, so plain types)
// =============================================================================

export type ChatContentPart =
  | { readonly type: "text"; readonly text: string }
  | { readonly type: "image_url"; readonly image_url: { readonly url: string } }

export interface ChatToolCall {
  readonly id: string
  readonly type: "function"
  readonly function: { readonly name: string; readonly arguments: string }
}

export type ChatMessage =
  | { readonly role: "system"; readonly content: string }
  | { readonly role: "user"; readonly content: string | ReadonlyArray<ChatContentPart> }
  | {
    readonly role: "assistant"
    readonly content: string | null
    readonly tool_calls?: ReadonlyArray<ChatToolCall>
  }
  | { readonly role: "tool"; readonly tool_call_id: string; readonly content: string }

export interface ChatTool {
  readonly type: "function"
  readonly function: { readonly name: string; readonly description?: string; readonly parameters: unknown }
}

export type ChatToolChoice =
  | "auto"
  | "none"
  | "required"
  | { readonly type: "function"; readonly function: { readonly name: string } }

export interface ChatRequest {
  readonly model: string
  readonly messages: ReadonlyArray<ChatMessage>
  readonly stream: true
  readonly stream_options: { readonly include_usage: true }
  readonly tools?: ReadonlyArray<ChatTool>
  readonly tool_choice?: ChatToolChoice
  readonly response_format?: {
    readonly type: "json_schema"
    readonly json_schema: { readonly name: string; readonly schema: unknown; readonly strict: boolean }
  }
}

// =============================================================================
// Responses (what we receive; decoded with Schemas)
// =============================================================================

/** Compatible servers send `null` where OpenAI leaves a field out, and the other way round. */
const optionalNullable = <S extends Schema.Schema.AnyNoContext>(schema: S) =>
  Schema.optional(Schema.NullOr(schema))

/** One fragment of a tool call: `id` and `function.name` on the first fragment of an `index`, then arguments. */
export const ToolCallDelta = Schema.Struct({
  index: Schema.Int,
  id: optionalNullable(Schema.String),
  type: optionalNullable(Schema.String),
  function: optionalNullable(Schema.Struct({
    name: optionalNullable(Schema.String),
    arguments: optionalNullable(Schema.String)
  }))
})
export type ToolCallDelta = typeof ToolCallDelta.Type

export const Delta = Schema.Struct({
  role: optionalNullable(Schema.String),
  content: optionalNullable(Schema.String),
  tool_calls: optionalNullable(Schema.Array(ToolCallDelta))
})

export const ChunkChoice = Schema.Struct({
  index: Schema.Int,
  delta: optionalNullable(Delta),
  finish_reason: optionalNullable(Schema.String)
})

export const ChatUsage = Schema.Struct({
  prompt_tokens: Schema.Number,
  completion_tokens: Schema.Number,
  total_tokens: optionalNullable(Schema.Number),
  prompt_tokens_details: optionalNullable(Schema.Struct({ cached_tokens: optionalNullable(Schema.Number) })),
  completion_tokens_details: optionalNullable(Schema.Struct({ reasoning_tokens: optionalNullable(Schema.Number) }))
})
export type ChatUsage = typeof ChatUsage.Type

/** A `chat.completion.chunk`; the final one (with `include_usage`) has no choices and carries `usage`. */
export const ChatCompletionChunk = Schema.Struct({
  id: optionalNullable(Schema.String),
  model: optionalNullable(Schema.String),
  created: optionalNullable(Schema.Number),
  choices: Schema.optionalWith(Schema.Array(ChunkChoice), { default: () => [] }),
  usage: optionalNullable(ChatUsage)
})
export type ChatCompletionChunk = typeof ChatCompletionChunk.Type

/** The body of an error, in a non-2xx response or as a stream event: `{"error": {"message": ...}}`. */
export const ErrorEnvelope = Schema.Struct({
  error: Schema.Struct({
    message: Schema.String,
    type: optionalNullable(Schema.String),
    code: optionalNullable(Schema.Union(Schema.String, Schema.Number)),
    param: optionalNullable(Schema.String)
  })
})
export type ErrorEnvelope = typeof ErrorEnvelope.Type

/** One `data:` payload of the stream, JSON-decoded; an error event is tried first because it has a required field. */
export const StreamEvent = Schema.parseJson(Schema.Union(ErrorEnvelope, ChatCompletionChunk))
export type StreamEvent = typeof StreamEvent.Type

export const isErrorEvent = (event: StreamEvent): event is ErrorEnvelope => "error" in event

/** The payload that ends a stream. */
export const doneMarker = "[DONE]"

// =============================================================================
// Server-sent events
// =============================================================================

/** Largest event we keep in memory before giving up on the stream (a server that never ends its event). */
export const maxEventChars = 8 * 1024 * 1024

/** The `data` of an SSE event is bigger than `maxEventChars`. */
export class SseEventTooLarge extends Schema.TaggedError<SseEventTooLarge>()("SseEventTooLarge", {
  maxEventChars: Schema.Number
}) {
  override get message() {
    return `a server-sent event exceeded ${this.maxEventChars} characters`
  }
}

/**
 * The `data` of each event of a server-sent-events byte stream. Bytes are decoded with one streaming UTF-8 decoder,
 * so a character split across network reads is whole; lines are split on LF, CRLF or CR whatever the read
 * boundaries; comment lines (`: keep-alive`), `event:`, `id:` and `retry:` fields are ignored; the `data:` lines of
 * one event are joined with LF, as the SSE specification says. An unterminated last event is dropped.
 */
export const sseData = <E, R>(bytes: Stream.Stream<Uint8Array, E, R>): Stream.Stream<string, E | SseEventTooLarge, R> =>
  Stream.suspend(() => {
    const decoder = new TextDecoder("utf-8")
    let pending = ""
    let data: Array<string> = []
    let dataChars = 0
    let skipLeadingLf = false
    return bytes.pipe(
      Stream.mapChunksEffect((chunk) => {
        const out: Array<string> = []
        for (const piece of chunk) {
          pending += decoder.decode(piece, { stream: true })
          let start = 0
          for (let index = 0; index < pending.length; index++) {
            const char = pending[index]
            if (skipLeadingLf) {
              skipLeadingLf = false
              if (char === "\n") {
                start = index + 1
                continue
              }
            }
            if (char !== "\n" && char !== "\r") continue
            const line = pending.slice(start, index)
            start = index + 1
            skipLeadingLf = char === "\r"
            if (line === "") {
              if (data.length > 0) out.push(data.join("\n"))
              data = []
              dataChars = 0
            } else if (line.startsWith("data:")) {
              const value = line.startsWith("data: ") ? line.slice(6) : line.slice(5)
              data.push(value)
              dataChars += value.length
            }
          }
          pending = pending.slice(start)
          if (pending.length + dataChars > maxEventChars) return Effect.fail(new SseEventTooLarge({ maxEventChars }))
        }
        return Effect.succeed(Chunk.unsafeFromArray(out))
      })
    )
  })
