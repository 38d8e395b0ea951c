/**
 * A fake Anthropic Messages API on loopback for provider tests: replays scripted replies (server-sent events in the
 * wire format of Anthropic's streaming documentation, error statuses, cut connections), one per request, and records
 * the requests and the responses the client abandoned before their end, on the shared scripted server (FakeSseServer).
 */
import { Effect, type Scope } from "effect"
import { eventStream, type FakeServer, jsonReply, type Reply, serve, type Step, write } from "./FakeSseServer.js"

export * from "./FakeSseServer.js"

/** One server-sent event: `event: <name>` and one `data:` line. */
export const sseEvent = (event: string, data: unknown): Step =>
  write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`)

// ---------------------------------------------------------------------------------------------------------------------
// Anthropic's Messages streaming events (https://docs.anthropic.com/en/docs/build-with-claude/streaming)
// ---------------------------------------------------------------------------------------------------------------------

export const messageStart = (
  options: { readonly id?: string; readonly model?: string; readonly inputTokens?: number }
) =>
  sseEvent("message_start", {
    type: "message_start",
    message: {
      id: options.id ?? "msg_01FakeAnthropic",
      type: "message",
      role: "assistant",
      content: [],
      model: options.model ?? "claude-test",
      stop_reason: null,
      stop_sequence: null,
      usage: { input_tokens: options.inputTokens ?? 25, output_tokens: 1 }
    }
  })

export const ping: Step = sseEvent("ping", { type: "ping" })

export const textBlockStart = (index: number) =>
  sseEvent("content_block_start", { type: "content_block_start", index, content_block: { type: "text", text: "" } })

export const textDelta = (index: number, text: string) =>
  sseEvent("content_block_delta", { type: "content_block_delta", index, delta: { type: "text_delta", text } })

export const toolUseBlockStart = (index: number, id: string, name: string) =>
  sseEvent("content_block_start", {
    type: "content_block_start",
    index,
    content_block: { type: "tool_use", id, name, input: {} }
  })

export const inputJsonDelta = (index: number, partialJson: string) =>
  sseEvent("content_block_delta", {
    type: "content_block_delta",
    index,
    delta: { type: "input_json_delta", partial_json: partialJson }
  })

export const contentBlockStop = (index: number) => sseEvent("content_block_stop", { type: "content_block_stop", index })

export const messageDelta = (stopReason: "end_turn" | "tool_use" | "max_tokens", outputTokens: number) =>
  sseEvent("message_delta", {
    type: "message_delta",
    delta: { stop_reason: stopReason, stop_sequence: null },
    usage: { output_tokens: outputTokens }
  })

export const messageStop: Step = sseEvent("message_stop", { type: "message_stop" })

export const errorEvent = (type: string, message: string) =>
  sseEvent("error", { type: "error", error: { type, message } })

/** A whole text turn: start, a ping, one text block from `pieces` (one delta each), end_turn with usage, stop. */
export const textReply = (
  pieces: ReadonlyArray<string>,
  usage: { readonly inputTokens: number; readonly outputTokens: number } = { inputTokens: 25, outputTokens: 15 }
): Reply =>
  eventStream([
    messageStart({ inputTokens: usage.inputTokens }),
    ping,
    textBlockStart(0),
    ...pieces.map((piece) => textDelta(0, piece)),
    contentBlockStop(0),
    messageDelta("end_turn", usage.outputTokens),
    messageStop
  ])

/** A turn asking for one tool: a short text block, then a tool_use block whose input arrives as JSON fragments. */
export const toolUseReply = (call: {
  readonly id: string
  readonly name: string
  readonly fragments: ReadonlyArray<string>
  readonly text?: string
}): Reply =>
  eventStream([
    messageStart({}),
    textBlockStart(0),
    textDelta(0, call.text ?? "Let me do that."),
    contentBlockStop(0),
    toolUseBlockStart(1, call.id, call.name),
    inputJsonDelta(1, ""),
    ...call.fragments.map((fragment) => inputJsonDelta(1, fragment)),
    contentBlockStop(1),
    messageDelta("tool_use", 40),
    messageStop
  ])

/** An error status with Anthropic's JSON error body. */
export const errorReply = (
  status: number,
  type: string,
  message: string,
  headers: Readonly<Record<string, string>> = {}
): Reply =>
  jsonReply(status, { type: "error", error: { type, message }, request_id: "req_fake" }, {
    "request-id": "req_fake",
    ...headers
  })

/** A fake Anthropic server: `baseUrl` is what `AnthropicProvider.make` takes (the origin; the client adds `/v1`). */
export const make: Effect.Effect<FakeServer & { readonly baseUrl: string }, never, Scope.Scope> = Effect.map(
  serve,
  (server) => ({ ...server, baseUrl: server.origin })
)
