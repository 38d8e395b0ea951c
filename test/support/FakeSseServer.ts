/**
 * A scripted HTTP server on loopback for the provider tests: it replays replies (status, headers, then body steps:
 * writes, pauses, a cut connection, a hang), one per request, and records the requests and the responses the client
 * abandoned before their end. API-neutral: each fake API (FakeOpenAi, FakeAnthropic, FakeOpenAiResponses) adds its
 * own event builders on top.
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

export interface FakeServer {
  /** `http://127.0.0.1:<port>`. */
  readonly origin: string
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
export const serve: Effect.Effect<FakeServer, never, Scope.Scope> = Effect.gen(function*() {
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
    origin: `http://127.0.0.1:${port}`,
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
