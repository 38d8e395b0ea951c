/**
 * The wire format of the gateway's OpenAI-compatible `POST /v1/chat/completions`, as the server side: the request
 * (decoded), the `chat.completion` answer, the `chat.completion.chunk`s of a stream and OpenAI's error body (all
 * built by us). Field names and shapes are OpenAI's, consistent with what `Llm/OpenAiChatWire.ts` decodes when the
 * gateway is itself a client of such a server (the tests decode our frames with its Schemas).
 */
import { Schema } from "effect"

// =============================================================================
// Request
// =============================================================================

/** An optional field that clients send as `null` as often as they leave it out. */
const optionalNullable = <S extends Schema.Schema.AnyNoContext>(schema: S) => Schema.optional(Schema.NullOr(schema))

/**
 * A part of an array content. Only `text` (and an assistant's `refusal`) can be given to an agent; other types
 * (`image_url`, `input_audio`, `file`) decode here so that the refusal can name the part instead of listing every
 * member of a union.
 */
export const ContentPart = Schema.Struct({
  type: Schema.String,
  text: Schema.optional(Schema.String),
  refusal: Schema.optional(Schema.String)
})
export type ContentPart = typeof ContentPart.Type

export const Content = Schema.Union(Schema.String, Schema.Array(ContentPart))
export type Content = typeof Content.Type

/** A tool call of an earlier assistant turn (the client ran the tool): kept in the transcript. */
export const ToolCall = Schema.Struct({
  id: Schema.String,
  type: Schema.optional(Schema.String),
  function: Schema.Struct({ name: Schema.String, arguments: Schema.String })
})

/** `developer` is the newer name of `system` (OpenAI's reasoning models); both are instructions. */
export const InstructionMessage = Schema.Struct({
  role: Schema.Literal("system", "developer"),
  content: Content,
  name: Schema.optional(Schema.String)
})

export const UserMessage = Schema.Struct({
  role: Schema.Literal("user"),
  content: Content,
  name: Schema.optional(Schema.String)
})

export const AssistantMessage = Schema.Struct({
  role: Schema.Literal("assistant"),
  content: optionalNullable(Content),
  name: Schema.optional(Schema.String),
  refusal: optionalNullable(Schema.String),
  tool_calls: optionalNullable(Schema.Array(ToolCall))
})

export const ToolMessage = Schema.Struct({
  role: Schema.Literal("tool"),
  content: Content,
  tool_call_id: Schema.String
})

export const ChatMessage = Schema.Union(InstructionMessage, UserMessage, AssistantMessage, ToolMessage)
export type ChatMessage = typeof ChatMessage.Type

/**
 * The request body. Unknown keys are ACCEPTED (decoded with `onExcessProperty: "ignore"`), a deliberate exception to
 * the gateway's strict decoding: OpenAI adds request fields often and compatible clients send them, so a server that
 * refused them would break with every client release. The fields below that the gateway does not use are declared
 * only so that a wrongly typed value is a 400 as on OpenAI; what cannot be honoured (several choices, client-side
 * tools, structured output, log probabilities) is refused by the route with `UnsupportedParameter`.
 */
export class ChatCompletionRequest extends Schema.Class<ChatCompletionRequest>("openclaw/ChatCompletionRequest")({
  /** `openclaw` (the default agent) or `openclaw/<agent>`. */
  model: Schema.String,
  messages: Schema.Array(ChatMessage).pipe(Schema.minItems(1)),
  stream: optionalNullable(Schema.Boolean),
  stream_options: optionalNullable(Schema.Struct({ include_usage: optionalNullable(Schema.Boolean) })),
  // Refused unless harmless (n = 1, no tools, text format, no logprobs):
  n: optionalNullable(Schema.Int),
  tools: optionalNullable(Schema.Array(Schema.Unknown)),
  functions: optionalNullable(Schema.Array(Schema.Unknown)),
  tool_choice: optionalNullable(Schema.Unknown),
  response_format: optionalNullable(Schema.Struct({ type: Schema.String })),
  logprobs: optionalNullable(Schema.Boolean),
  // Accepted and ignored: the agent's provider and sampling come from the gateway's config.
  temperature: optionalNullable(Schema.Number),
  top_p: optionalNullable(Schema.Number),
  max_tokens: optionalNullable(Schema.Int),
  max_completion_tokens: optionalNullable(Schema.Int),
  presence_penalty: optionalNullable(Schema.Number),
  frequency_penalty: optionalNullable(Schema.Number),
  seed: optionalNullable(Schema.Int),
  stop: optionalNullable(Schema.Union(Schema.String, Schema.Array(Schema.String))),
  user: optionalNullable(Schema.String)
}) {}

// =============================================================================
// Answers
// =============================================================================

export const CompletionUsage = Schema.Struct({
  prompt_tokens: Schema.Int,
  completion_tokens: Schema.Int,
  total_tokens: Schema.Int
})
export type CompletionUsage = typeof CompletionUsage.Type

/** What every answer and chunk of one request repeats: `chatcmpl-<runId>`, seconds since the epoch, `model` echoed. */
const answerFields = {
  id: Schema.String,
  created: Schema.Int,
  model: Schema.String
}

/** The answer of a non-streaming request. */
export const ChatCompletion = Schema.Struct({
  ...answerFields,
  object: Schema.Literal("chat.completion"),
  choices: Schema.Tuple(Schema.Struct({
    index: Schema.Literal(0),
    message: Schema.Struct({
      role: Schema.Literal("assistant"),
      content: Schema.String,
      refusal: Schema.Null
    }),
    logprobs: Schema.Null,
    finish_reason: Schema.Literal("stop")
  })),
  usage: CompletionUsage
})
export type ChatCompletion = typeof ChatCompletion.Type

export const ChunkChoice = Schema.Struct({
  index: Schema.Literal(0),
  delta: Schema.Struct({
    role: Schema.optional(Schema.Literal("assistant")),
    content: Schema.optional(Schema.String)
  }),
  logprobs: Schema.Null,
  finish_reason: Schema.NullOr(Schema.Literal("stop"))
})
export type ChunkChoice = typeof ChunkChoice.Type

/**
 * One `data:` frame of a stream. With `stream_options.include_usage`, every chunk has `usage: null` but the last,
 * which has no choices and the run's usage (as OpenAI does).
 */
export const ChatCompletionChunk = Schema.Struct({
  ...answerFields,
  object: Schema.Literal("chat.completion.chunk"),
  choices: Schema.Array(ChunkChoice),
  usage: Schema.optional(Schema.NullOr(CompletionUsage))
})
export type ChatCompletionChunk = typeof ChatCompletionChunk.Type

/** OpenAI's error body: the answer of a refused request, and the last frame of a stream that failed. */
export const OpenAiErrorBody = Schema.Struct({
  error: Schema.Struct({
    message: Schema.String,
    type: Schema.String,
    param: Schema.NullOr(Schema.String),
    code: Schema.NullOr(Schema.String)
  })
})
export type OpenAiErrorBody = typeof OpenAiErrorBody.Type

// =============================================================================
// Refusals only this API gives
// =============================================================================

/** `model` is neither `openclaw` nor `openclaw/<allowed agent>` (HTTP 404, code `model_not_found`). */
export class ModelNotFound extends Schema.TaggedError<ModelNotFound>()("ModelNotFound", {
  model: Schema.String,
  available: Schema.Array(Schema.String)
}) {
  override get message() {
    return `The model \`${this.model}\` does not exist on this gateway; use one of: ${this.available.join(", ")}`
  }
}

/** A request field the gateway cannot honour (HTTP 400, with the field as `param`). */
export class UnsupportedParameter extends Schema.TaggedError<UnsupportedParameter>()("UnsupportedParameter", {
  param: Schema.String,
  reason: Schema.String
}) {
  override get message() {
    return `Unsupported parameter \`${this.param}\`: ${this.reason}`
  }
}
