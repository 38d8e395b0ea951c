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
import { Effect, FiberSet, type Scope } from "effect"
import * as http from "node:http"
import type { AddressInfo } from "node:net"

// ---------------------------------------------------------------------------------------------------------------------
// The scripted server
// ---------------------------------------------------------------------------------------------------------------------

/** One thing the server does while answering. */
export type Step =
  /** One `socket.write` (the server disables Nagle, so writes separated by a pause arrive as separate reads). */
  | { readonly _tag: "Write"; readonly chunk: string | Uint8Array }
  | { readonly _tag: "Pause"; readonly ms: number }
  /** Destroys the connection without ending the response: a connection cut mid-stream. */
  | { readonly _tag: "Cut" }
  /** Sends nothing more and never ends the response: only the client can close it (cancellation tests). */
  | { readonly _tag: "Hang" }

/** The scripted answer to one request: status and headers, then the body's steps (ended unless cut or hung). */
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
  /** The body parsed as JSON; `undefined` when it is not JSON. */
  readonly json: unknown
}

export interface FakeOpenAi {
  /** `http://127.0.0.1:<port>/v1`: what a provider's `baseUrl` is set to. */
  readonly baseUrl: string
  /** Queues replies; each request takes the next one, whatever its path (a request with none left gets a 500). */
  readonly reply: (...replies: ReadonlyArray<Reply>) => void
  /** The requests received so far, in order. */
  readonly requests: () => ReadonlyArray<RecordedRequest>
  /** Responses the client closed before the server ended them (the server's own cuts and shutdown excluded). */
  readonly earlyDisconnects: () => number
  /** Waits until `earlyDisconnects()` reaches `count`. */
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

/** A JSON reply, e.g. an error status and its body. */
export const jsonReply = (status: number, body: unknown, headers: Readonly<Record<string, string>> = {}): Reply => ({
  status,
  headers: { "content-type": "application/json", ...headers },
  steps: [write(JSON.stringify(body))]
})

/** One server-sent event: an optional `event:` line, one `data:` line with the JSON, a blank line. */
export const sseEvent = (data: unknown, event?: string): Step =>
  write(`${event === undefined ? "" : `event: ${event}\n`}data: ${JSON.stringify(data)}\n\n`)

/** A comment line, as servers send to keep an idle connection open. */
export const keepAlive: Step = write(": keep-alive\n\n")

/**
 * The write split inside every multi-byte UTF-8 character it holds (after the character's first byte), the pieces
 * 15 ms apart, so the client reads chunks that end with an incomplete character.
 */
export const splitUtf8 = (step: Step): ReadonlyArray<Step> => {
  if (step._tag !== "Write") return [step]
  const bytes = Buffer.from(step.chunk)
  const steps: Array<Step> = []
  let start = 0
  bytes.forEach((byte, index) => {
    if (byte < 0xc0) return
    steps.push(write(bytes.subarray(start, index + 1)), pause(15))
    start = index + 1
  })
  if (steps.length === 0) throw new Error("splitUtf8: the write has no multi-byte character")
  steps.push(write(bytes.subarray(start)))
  return steps
}

const noReplyLeft: Reply = {
  status: 500,
  headers: { "content-type": "text/plain" },
  steps: [write("the fake server has no scripted reply left")]
}

const headerRecord = (headers: http.IncomingHttpHeaders): Record<string, string> => {
  const out: Record<string, string> = {}
  for (const [name, value] of Object.entries(headers)) {
    if (value !== undefined) out[name] = Array.isArray(value) ? value.join(", ") : value
  }
  return out
}

const parseJson = (body: string): unknown => {
  try {
    const parsed: unknown = JSON.parse(body)
    return parsed
  } catch {
    return undefined
  }
}

/** Starts the server on an ephemeral loopback port; it stops with the scope (connections destroyed, fibers ended). */
export const make: Effect.Effect<FakeOpenAi, never, Scope.Scope> = Effect.gen(function*() {
  const queue: Array<Reply> = []
  const requests: Array<RecordedRequest> = []
  let earlyDisconnects = 0
  let closing = false
  const waiters = new Set<{ readonly count: number; readonly wake: () => void }>()
  const runFork = yield* FiberSet.makeRuntime<never>()

  const disconnected = () => {
    earlyDisconnects++
    for (const waiter of waiters) {
      if (earlyDisconnects >= waiter.count) {
        waiters.delete(waiter)
        waiter.wake()
      }
    }
  }

  const respond = (request: http.IncomingMessage, response: http.ServerResponse, reply: Reply) =>
    Effect.gen(function*() {
      let cutByServer = false
      response.on("close", () => {
        if (!response.writableEnded && !cutByServer && !closing) disconnected()
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
      requests.push({
        method: request.method ?? "",
        path: request.url ?? "",
        headers: headerRecord(request.headers),
        body,
        json: parseJson(body)
      })
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

  return {
    baseUrl: `http://127.0.0.1:${port}/v1`,
    reply: (...replies) => {
      queue.push(...replies)
    },
    requests: () => requests,
    earlyDisconnects: () => earlyDisconnects,
    awaitEarlyDisconnects: (count) =>
      Effect.async<void>((resume) => {
        if (earlyDisconnects >= count) return resume(Effect.void)
        const waiter = { count, wake: () => resume(Effect.void) }
        waiters.add(waiter)
        return Effect.sync(() => waiters.delete(waiter))
      })
  }
})

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
