/**
 * A fake OpenAI API on loopback for provider tests: replays scripted replies, one per request, and records the
 * requests and the responses the client abandoned before their end. The server itself is API-neutral (a reply is a
 * status, headers and body steps: writes, pauses, a cut connection, a hang); what is OpenAI-specific are the
 * builders below it. Chat Completions streams are built in the wire format of OpenAI's streaming documentation
 * (https://platform.openai.com/docs/api-reference/chat-streaming).
 *
 * Extension point: to fake the Responses API, add its builders in a section of their own (`sseEvent` writes the
 * `event:` + `data:` frames it uses) and queue them with `reply` like the Chat ones; the recorded `path` tells which
 * endpoint a client called (`/v1/chat/completions` or `/v1/responses`).
 */
import { Effect, type Scope } from "effect"
import { type FakeServer, jsonReply, type Reply, serve, type Step, write } from "./FakeSseServer.js"

export * from "./FakeSseServer.js"

export interface FakeOpenAi extends FakeServer {
  /** `http://127.0.0.1:<port>/v1`: what a provider's `baseUrl` is set to. */
  readonly baseUrl: string
}

/** One server-sent event: an optional `event:` line and one `data:` line with the JSON. */
export const sseEvent = (data: unknown, event?: string): Step =>
  write(`${event === undefined ? "" : `event: ${event}\n`}data: ${JSON.stringify(data)}\n\n`)

/** An SSE comment, as servers send to keep a connection alive. */
export const keepAlive: Step = write(": keep-alive\n\n")

/** Starts the fake on an ephemeral loopback port; it stops with the scope. */
export const make: Effect.Effect<FakeOpenAi, never, Scope.Scope> = Effect.map(
  serve,
  (server) => ({ ...server, baseUrl: `${server.origin}/v1` })
)

// ---------------------------------------------------------------------------------------------------------------------
// Chat Completions (POST /v1/chat/completions with stream: true)
// ---------------------------------------------------------------------------------------------------------------------

export interface ChatUsage {
  readonly prompt_tokens: number
  readonly completion_tokens: number
  readonly total_tokens: number
}

export interface ChatToolCallScript {
  readonly id: string
  readonly name: string
  /** The `function.arguments` string in the pieces the server sends, one chunk each. */
  readonly argumentPieces: ReadonlyArray<string>
}

export interface ChatStreamOptions {
  readonly id?: string
  readonly model?: string
  /** The final chunk's usage; default 12 prompt and 5 completion tokens. */
  readonly usage?: ChatUsage
}

const defaultUsage: ChatUsage = { prompt_tokens: 12, completion_tokens: 5, total_tokens: 17 }

/**
 * A `chat.completion.chunk` object with one choice. `usage: null` on every chunk but the last one is what OpenAI
 * sends when the request asked for `stream_options.include_usage`.
 */
export const chatChunk = (
  delta: Readonly<Record<string, unknown>>,
  finishReason: string | null = null,
  options: ChatStreamOptions = {}
) => ({
  id: options.id ?? "chatcmpl-fake123",
  object: "chat.completion.chunk",
  created: 1694268190,
  model: options.model ?? "gpt-fake",
  system_fingerprint: "fp_fake",
  choices: [{ index: 0, delta, logprobs: null, finish_reason: finishReason }],
  usage: null
})

/** The final chunk of an `include_usage` stream: no choices, the usage of the whole request. */
export const chatUsageChunk = (options: ChatStreamOptions = {}) => ({
  id: options.id ?? "chatcmpl-fake123",
  object: "chat.completion.chunk",
  created: 1694268190,
  model: options.model ?? "gpt-fake",
  system_fingerprint: "fp_fake",
  choices: [],
  usage: options.usage ?? defaultUsage
})

/** `data: {...}` for a chunk object. */
export const chatData = (chunk: unknown): Step => sseEvent(chunk)

/** The line that ends every Chat Completions stream. */
export const done: Step = write("data: [DONE]\n\n")

/** An error object sent inside a 200 stream, as OpenAI does when generation fails after the headers were sent. */
export const chatErrorEvent = (message: string, type = "server_error", code: string | number | null = null): Step =>
  sseEvent({ error: { message, type, param: null, code } })

/** A non-2xx response with OpenAI's JSON error body. */
export const chatErrorReply = (
  status: number,
  message: string,
  options: { readonly type?: string; readonly code?: string | null; readonly headers?: Record<string, string> } = {}
): Reply =>
  jsonReply(
    status,
    { error: { message, type: options.type ?? "server_error", param: null, code: options.code ?? null } },
    options.headers
  )

/** The steps of a text answer: the role chunk, one chunk per delta, the `stop` chunk, the usage chunk, `[DONE]`. */
export const chatTextSteps = (deltas: ReadonlyArray<string>, options: ChatStreamOptions = {}): Array<Step> => [
  chatData(chatChunk({ role: "assistant", content: "" }, null, options)),
  ...deltas.map((content) => chatData(chatChunk({ content }, null, options))),
  chatData(chatChunk({}, "stop", options)),
  chatData(chatUsageChunk(options)),
  done
]

/**
 * The steps of a tool-call answer: each call's first fragment carries `id`, `type` and `function.name` with empty
 * arguments, then one chunk per argument piece (only `index` and `function.arguments`), then `tool_calls` as the
 * finish reason, the usage chunk and `[DONE]`.
 */
export const chatToolCallSteps = (
  calls: ReadonlyArray<ChatToolCallScript>,
  options: ChatStreamOptions = {}
): Array<Step> => [
  chatData(chatChunk({ role: "assistant", content: null }, null, options)),
  ...calls.flatMap((call, index) => [
    chatData(chatChunk({
      tool_calls: [{ index, id: call.id, type: "function", function: { name: call.name, arguments: "" } }]
    }, null, options)),
    ...call.argumentPieces.map((piece) =>
      chatData(chatChunk({ tool_calls: [{ index, function: { arguments: piece } }] }, null, options))
    )
  ]),
  chatData(chatChunk({}, "tool_calls", options)),
  chatData(chatUsageChunk(options)),
  done
]
