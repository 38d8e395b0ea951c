/**
 * A fake Anthropic Messages API on loopback for provider tests: replays scripted replies (server-sent events in the
 * wire format of Anthropic's streaming documentation, error statuses, cut connections), one per request, and records
 * the requests and the responses the client abandoned before their end. The generic scripted-SSE server (`serve`,
 * `Reply`, `Step`) is shared with the fake OpenAI Responses server.
 */
import { Effect, FiberSet, type Scope } from "effect"
import * as http from "node:http"
import type { AddressInfo } from "node:net"

// ---------------------------------------------------------------------------------------------------------------------
// The scripted server
// ---------------------------------------------------------------------------------------------------------------------

/** One thing the server does while answering. */
export type Step =
  | { readonly _tag: "Write"; readonly chunk: string | Uint8Array }
  | { readonly _tag: "Pause"; readonly ms: number }
  /** Destroys the connection without ending the response (a connection cut mid-stream). */
  | { readonly _tag: "Cut" }
  /** Sends nothing more and never ends the response; only the client can close it. */
  | { readonly _tag: "Hang" }

/** A scripted answer to one request: the status and headers, then the body as steps (ended unless cut or hung). */
export interface Reply {
  readonly status: number
  readonly headers: Readonly<Record<string, string>>
  readonly steps: ReadonlyArray<Step>
}

export interface RecordedRequest {
  readonly method: string
  readonly path: string
  /** Header names in lower case. */
  readonly headers: Readonly<Record<string, string>>
  readonly body: string
  /** The body parsed as JSON, `undefined` when it is not JSON. */
  readonly json: unknown
}

export interface FakeServer {
  /** `http://127.0.0.1:<port>`. */
  readonly origin: string
  /** Queues replies; each request takes the next one (a request with none left gets a 500). */
  readonly reply: (...replies: ReadonlyArray<Reply>) => void
  readonly requests: () => ReadonlyArray<RecordedRequest>
  /** Responses the client closed before the server ended them (cuts and the server's own close excluded). */
  readonly earlyDisconnects: () => number
  /** Waits until `earlyDisconnects()` reaches `count` (polls every 10 ms: use with the live clock). */
  readonly awaitEarlyDisconnects: (count: number) => Effect.Effect<void>
}

export const write = (chunk: string | Uint8Array): Step => ({ _tag: "Write", chunk })
export const pause = (ms: number): Step => ({ _tag: "Pause", ms })
export const cut: Step = { _tag: "Cut" }
export const hang: Step = { _tag: "Hang" }

/** A `text/event-stream` reply with status 200. */
export const eventStream = (steps: ReadonlyArray<Step>): Reply => ({
  status: 200,
  headers: { "content-type": "text/event-stream; charset=utf-8", "cache-control": "no-cache" },
  steps
})

/** A JSON reply, e.g. an error status with its body. */
export const jsonReply = (status: number, body: unknown, headers: Readonly<Record<string, string>> = {}): Reply => ({
  status,
  headers: { "content-type": "application/json", ...headers },
  steps: [write(JSON.stringify(body))]
})

/** One server-sent event: `event: <name>` and one `data:` line. */
export const sseEvent = (event: string, data: unknown): Step =>
  write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`)

/**
 * The event as two writes, 20 ms apart, split inside its first multi-byte UTF-8 character (so the client receives
 * a chunk ending with an incomplete character). The event's data must contain a non-ASCII character.
 */
export const splitUtf8 = (step: Step): ReadonlyArray<Step> => {
  if (step._tag !== "Write") return [step]
  const bytes = Buffer.from(step.chunk)
  const lead = bytes.findIndex((byte) => byte >= 0xc0)
  if (lead < 0) throw new Error("splitUtf8: the event has no multi-byte character")
  return [write(bytes.subarray(0, lead + 1)), pause(20), write(bytes.subarray(lead + 1))]
}

const noReplyLeft: Reply = {
  status: 500,
  headers: { "content-type": "text/plain" },
  steps: [write("the fake server has no scripted reply left")]
}

/** Starts the server on an ephemeral loopback port; it stops (all connections destroyed) with the scope. */
export const serve: Effect.Effect<FakeServer, never, Scope.Scope> = Effect.gen(function*() {
  const queue: Array<Reply> = []
  const requests: Array<RecordedRequest> = []
  let earlyDisconnects = 0
  let closing = false
  const runFork = yield* FiberSet.makeRuntime<never>()

  const respond = (request: http.IncomingMessage, response: http.ServerResponse, reply: Reply) =>
    Effect.gen(function*() {
      let cutByServer = false
      response.on("close", () => {
        if (!response.writableEnded && !cutByServer && !closing) earlyDisconnects++
      })
      response.writeHead(reply.status, { ...reply.headers })
      response.flushHeaders()
      for (const step of reply.steps) {
        switch (step._tag) {
          case "Write":
            response.write(step.chunk)
            break
          case "Pause":
            yield* Effect.sleep(step.ms)
            break
          case "Cut":
            cutByServer = true
            request.socket.destroy()
            return
          case "Hang":
            return yield* Effect.never
        }
      }
      response.end()
    })

  const server = http.createServer((request, response) => {
    request.socket.setNoDelay(true)
    const chunks: Array<Buffer> = []
    request.on("data", (chunk: Buffer) => chunks.push(chunk))
    request.on("end", () => {
      const body = Buffer.concat(chunks).toString("utf8")
      let json: unknown = undefined
      try {
        json = JSON.parse(body)
      } catch {
        json = undefined
      }
      const headers: Record<string, string> = {}
      for (const [name, value] of Object.entries(request.headers)) {
        if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(", ") : value
      }
      requests.push({ method: request.method ?? "", path: request.url ?? "", headers, body, json })
      runFork(respond(request, response, queue.shift() ?? noReplyLeft))
    })
  })

  const port = yield* Effect.acquireRelease(
    Effect.async<number>((resume) => {
      server.listen(0, "127.0.0.1", () => {
        const address: AddressInfo | string | null = server.address()
        resume(Effect.succeed(typeof address === "object" && address !== null ? address.port : 0))
      })
    }),
    () =>
      Effect.async<void>((resume) => {
        closing = true
        server.close(() => resume(Effect.void))
        server.closeAllConnections()
      })
  )

  const awaitEarlyDisconnects = (count: number): Effect.Effect<void> =>
    Effect.suspend(() =>
      earlyDisconnects >= count ? Effect.void : Effect.zipRight(Effect.sleep(10), awaitEarlyDisconnects(count))
    )

  return {
    origin: `http://127.0.0.1:${port}`,
    reply: (...replies) => {
      queue.push(...replies)
    },
    requests: () => requests,
    earlyDisconnects: () => earlyDisconnects,
    awaitEarlyDisconnects
  }
})

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
