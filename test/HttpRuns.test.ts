/**
 * HTTP mode of runs over real loopback sockets: `POST /v1/runs` answered as JSON or as SSE, `DELETE
 * /v1/runs/:id`, and every refusal with its status and typed body; a client that leaves cancels its run.
 */
import { Effect, Exit, Schema, Scope } from "effect"
import * as http from "node:http"
import { describe, expect, it } from "vitest"
import { AgentEvent } from "../src/Domain/AgentEvent.js"
import { Forbidden } from "../src/Domain/AuthError.js"
import {
  BearerRejected,
  HttpErrorBody,
  type HttpFailure,
  OriginRejected,
  PayloadTooLarge,
  RunResult
} from "../src/Domain/HttpWire.js"
import { RunId } from "../src/Domain/Ids.js"
import {
  AgentFailed,
  AgentNotAllowed,
  CpuQuotaExceeded,
  GatewayShuttingDown,
  InvalidRequest,
  ProviderFailed,
  QueueFull,
  QuotaExceeded,
  RunCancelled,
  RunNotFound,
  RunTimedOut,
  ThreadOutOfMemory,
  WorkerCrashed
} from "../src/Domain/RunError.js"
import { headersOf, statusOf } from "../src/Gateway/HttpErrors.js"
import { startInProcessGateway, useGateway, type TestGateway } from "./support/TestGateway.js"

const tokens = {
  writer: "writer-token-0123456789",
  reader: "reader-token-0123456789",
  limited: "limited-token-0123456789",
  other: "other-token-0123456789"
}

const gatewayConfig = {
  gateway: {
    auth: {
      tokens: [
        { name: "writer", token: tokens.writer, scopes: ["runs:write"] },
        { name: "reader", token: tokens.reader, scopes: ["runs:read"] },
        { name: "limited", token: tokens.limited, scopes: ["runs:write"], quota: { runsPerMinute: 1 } },
        { name: "other", token: tokens.other, scopes: ["runs:write"] }
      ]
    }
  },
  acp: { allowedAgents: ["codex"], codex: { maxMessageSize: 4096 } },
  security: { websocket: { allowedOrigins: ["https://app.example"] } },
  agents: { threadPool: { minThreads: 1, maxThreads: 1, queueSize: 0 } }
}

interface Answer {
  readonly status: number
  readonly headers: http.IncomingHttpHeaders
  readonly body: string
}

/** One request on its own connection; `body` is sent with a Content-Length unless `chunked`. */
const request = (
  gateway: TestGateway,
  options: {
    readonly method?: string
    readonly path?: string
    readonly headers?: Record<string, string>
    readonly body?: string
    readonly chunked?: boolean
  }
): Promise<Answer> =>
  new Promise((resolve, reject) => {
    const req = http.request({
      host: "127.0.0.1",
      port: gateway.port,
      method: options.method ?? "POST",
      path: options.path ?? "/v1/runs",
      agent: false,
      headers: {
        ...(options.body !== undefined && options.chunked !== true
          ? { "content-length": String(Buffer.byteLength(options.body)) }
          : {}),
        ...options.headers
      }
    }, (res) => {
      const parts: Array<Buffer> = []
      res.on("data", (part: Buffer) => parts.push(part))
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(parts).toString() }))
      res.on("error", reject)
    })
    req.on("error", reject)
    if (options.body !== undefined) req.write(options.body)
    req.end()
  })

const bearer = (token: string) => ({ authorization: `Bearer ${token}` })
const startRun = (gateway: TestGateway, body: unknown, headers: Record<string, string> = {}) =>
  request(gateway, { body: JSON.stringify(body), headers: { ...bearer(tokens.writer), ...headers } })

const decodeResult = Schema.decodeUnknownSync(Schema.parseJson(RunResult))
const decodeError = Schema.decodeUnknownSync(Schema.parseJson(HttpErrorBody))
const decodeEvent = Schema.decodeUnknownSync(Schema.parseJson(AgentEvent))

/** The frames of an SSE body: `id`, `event` and `data` of each. */
const sseFrames = (body: string) =>
  body.split("\n\n").filter((frame) => frame !== "").map((frame) => {
    const fields = new Map<string, string>()
    for (const line of frame.split("\n")) {
      const colon = line.indexOf(": ")
      fields.set(line.slice(0, colon), line.slice(colon + 2))
    }
    return { id: fields.get("id"), event: fields.get("event"), data: fields.get("data") ?? "" }
  })

/** Waits (bounded) until the gateway has no active run. */
const noActiveRuns = (gateway: TestGateway) =>
  Effect.runPromise(
    Effect.gen(function*() {
      for (let i = 0; i < 200; i++) {
        if ((yield* gateway.supervisor.snapshot).runs.length === 0) return true
        yield* Effect.sleep("25 millis")
      }
      return false
    })
  )

const expectGapFree = (events: ReadonlyArray<AgentEvent>, runId: string) => {
  expect(events.map((event) => event.seq)).toEqual(events.map((_, index) => index))
  expect(new Set(events.map((event) => event.runId))).toEqual(new Set([runId]))
}

describe("POST /v1/runs", () => {
  const gateway = useGateway(gatewayConfig)

  it("waits and answers the whole run as JSON: reply, usage and every event in order", async () => {
    const answer = await startRun(gateway(), { prompt: "hello there", mode: "inline" })
    expect(answer.status).toBe(200)
    expect(answer.headers["content-type"]).toMatch(/^application\/json/)
    const result = decodeResult(answer.body)
    expect(answer.headers["x-openclaw-run-id"]).toBe(result.runId)
    expectGapFree(result.events, result.runId)
    expect(result.events[0]?._tag).toBe("RunStarted")
    expect(result.events.at(-1)?._tag).toBe("RunCompleted")
    const tokensText = result.events.flatMap((event) => (event._tag === "TokenDelta" ? [event.text] : [])).join("")
    expect(tokensText).toBe(result.text)
    expect(result.text).toContain("hello there")
    expect(result.usage.outputTokens).toBeGreaterThan(0)
  })

  it("streams the same events as SSE with id = seq when asked for text/event-stream, thread-bound too", async () => {
    const answer = await startRun(gateway(), { prompt: "stream me" }, { accept: "text/event-stream" })
    expect(answer.status).toBe(200)
    expect(answer.headers["content-type"]).toMatch(/^text\/event-stream/)
    expect(answer.headers["cache-control"]).toBe("no-cache")
    const frames = sseFrames(answer.body)
    const events = frames.map((frame) => decodeEvent(frame.data))
    expect(frames.map((frame) => frame.id)).toEqual(events.map((event) => String(event.seq)))
    expect(frames.every((frame) => frame.event === undefined)).toBe(true)
    expectGapFree(events, String(answer.headers["x-openclaw-run-id"]))
    expect(events.some((event) => event._tag === "RunStarted" && event.mode === "thread-bound")).toBe(true)
    const completed = events.at(-1)
    expect(completed?._tag === "RunCompleted" && completed.text.includes("stream me")).toBe(true)
  })

  it("refuses a request without a Bearer token, or with a wrong one, with 401 and WWW-Authenticate", async () => {
    for (const headers of [{}, bearer("not-a-token")]) {
      const answer = await request(gateway(), { body: JSON.stringify({ prompt: "x" }), headers })
      expect(answer.status).toBe(401)
      expect(answer.headers["www-authenticate"]).toBe("Bearer realm=\"openclaw\"")
      expect(decodeError(answer.body).error._tag).toBe("BearerRejected")
    }
  })

  it("refuses a credential without runs:write with 403 Forbidden naming the scope", async () => {
    const answer = await request(gateway(), { body: JSON.stringify({ prompt: "x" }), headers: bearer(tokens.reader) })
    expect(answer.status).toBe(403)
    const { error } = decodeError(answer.body)
    expect(error._tag === "Forbidden" && error.scope).toBe("runs:write")
  })

  it("refuses a page from an origin outside the allow-list with 403, and serves a listed one", async () => {
    const refused = await startRun(gateway(), { prompt: "x", mode: "inline" }, { origin: "https://evil.example" })
    expect(refused.status).toBe(403)
    expect(decodeError(refused.body).error._tag).toBe("OriginRejected")
    const served = await startRun(gateway(), { prompt: "x", mode: "inline" }, { origin: "https://app.example" })
    expect(served.status).toBe(200)
  })

  it("answers a listed origin's CORS preflight and lets it read the run id; other origins get no CORS headers", async () => {
    const preflight = (origin: string) =>
      request(gateway(), {
        method: "OPTIONS",
        headers: {
          origin,
          "access-control-request-method": "POST",
          "access-control-request-headers": "authorization,content-type"
        }
      })
    const listed = await preflight("https://app.example")
    expect(listed.status).toBe(204)
    expect(listed.headers["access-control-allow-origin"]).toBe("https://app.example")
    expect(listed.headers["access-control-allow-headers"]).toContain("authorization")
    const unlisted = await preflight("https://evil.example")
    expect(unlisted.headers["access-control-allow-origin"]).toBeUndefined()
    const served = await startRun(gateway(), { prompt: "x", mode: "inline" }, { origin: "https://app.example" })
    expect(served.headers["access-control-allow-origin"]).toBe("https://app.example")
    expect(served.headers["access-control-expose-headers"]).toContain("x-openclaw-run-id")
  })

  it("answers 400 with the reason for a body that is not JSON, has unknown keys or bad values", async () => {
    const notJson = await request(gateway(), { body: "{prompt", headers: bearer(tokens.writer) })
    expect(notJson.status).toBe(400)
    expect(decodeError(notJson.body).message).toMatch(/not JSON/)
    const unknownKey = await startRun(gateway(), { prompt: "x", bogus: 1 })
    expect(unknownKey.status).toBe(400)
    expect(decodeError(unknownKey.body).message).toMatch(/bogus: is unexpected/)
    const badValue = await startRun(gateway(), { prompt: "x", timeoutMs: -5 })
    expect(badValue.status).toBe(400)
    expect(decodeError(badValue.body).message).toMatch(/timeoutMs/)
  })

  it("answers 403 AgentNotAllowed for an agent outside acp.allowedAgents", async () => {
    const answer = await startRun(gateway(), { prompt: "x", agent: "subagent" })
    expect(answer.status).toBe(403)
    expect(decodeError(answer.body).error._tag).toBe("AgentNotAllowed")
  })

  it("answers 413 for a body over acp.codex.maxMessageSize, declared or chunked", async () => {
    const big = JSON.stringify({ prompt: "x".repeat(8000) })
    const declared = await request(gateway(), { body: big, headers: bearer(tokens.writer) })
    expect(declared.status).toBe(413)
    expect(decodeError(declared.body).error).toMatchObject({ _tag: "PayloadTooLarge", limitBytes: 4096 })
    const chunked = await request(gateway(), { body: big, chunked: true, headers: bearer(tokens.writer) })
    expect(chunked.status).toBe(413)
  })

  it("answers 429 with Retry-After when the caller's quota is spent", async () => {
    const first = await request(gateway(), {
      body: JSON.stringify({ prompt: "x", mode: "inline" }),
      headers: bearer(tokens.limited)
    })
    expect(first.status).toBe(200)
    const second = await request(gateway(), {
      body: JSON.stringify({ prompt: "x", mode: "inline" }),
      headers: bearer(tokens.limited)
    })
    expect(second.status).toBe(429)
    expect(Number(second.headers["retry-after"])).toBeGreaterThanOrEqual(1)
    expect(decodeError(second.body).error._tag).toBe("QuotaExceeded")
  })

  it("answers 429 QueueFull with Retry-After when the pool is busy, streaming or not", async () => {
    // One thread, no queue: a long command holds it.
    const holder = new AbortController()
    const held = fetch(`http://127.0.0.1:${gateway().port}/v1/runs`, {
      method: "POST",
      headers: { ...bearer(tokens.other), accept: "text/event-stream" },
      body: JSON.stringify({ command: "sleep 30" }),
      signal: holder.signal
    })
    const response = await held
    expect(response.status).toBe(200)
    try {
      for (const accept of ["application/json", "text/event-stream"]) {
        const refused = await startRun(gateway(), { prompt: "x" }, { accept })
        expect(refused.status).toBe(429)
        expect(Number(refused.headers["retry-after"])).toBeGreaterThanOrEqual(1)
        const body = decodeError(refused.body)
        expect(body.error._tag).toBe("QueueFull")
        expect(body.runId).toBeDefined()
      }
    } finally {
      holder.abort()
      await response.body?.cancel().catch(() => undefined)
    }
    expect(await noActiveRuns(gateway())).toBe(true)
  })

  it("answers 504 RunTimedOut with the events produced before the timeout; SSE ends with event: error", async () => {
    const answer = await startRun(gateway(), { command: "echo started; sleep 10", mode: "inline", timeoutMs: 300 })
    expect(answer.status).toBe(504)
    const body = decodeError(answer.body)
    expect(body.error._tag).toBe("RunTimedOut")
    // What the run produced before the timeout is kept (how much output made it depends on the machine's speed).
    expect(body.events?.[0]?._tag).toBe("RunStarted")
    expectGapFree(body.events ?? [], body.runId ?? "")

    const streamed = await startRun(
      gateway(),
      { command: "echo started; sleep 10", mode: "inline", timeoutMs: 300 },
      { accept: "text/event-stream" }
    )
    expect(streamed.status).toBe(200)
    const frames = sseFrames(streamed.body)
    const last = frames.at(-1)
    expect(last?.event).toBe("error")
    const error = decodeError(last?.data)
    expect(error.error._tag).toBe("RunTimedOut")
    expect(error.runId).toBe(streamed.headers["x-openclaw-run-id"])
    expect(frames.slice(0, -1).map((frame) => decodeEvent(frame.data)._tag)[0]).toBe("RunStarted")
  })

  it("cancels the run when the client goes away, streaming or waiting", async () => {
    for (const accept of ["text/event-stream", "application/json"]) {
      const leaving = new AbortController()
      const response = fetch(`http://127.0.0.1:${gateway().port}/v1/runs`, {
        method: "POST",
        headers: { ...bearer(tokens.writer), accept },
        body: JSON.stringify({ command: "sleep 30", mode: "inline" }),
        signal: leaving.signal
      })
      // Wait (bounded) until the run is active, then leave.
      let active = false
      for (let i = 0; i < 200 && !active; i++) {
        active = (await Effect.runPromise(gateway().supervisor.snapshot)).runs.length > 0
        if (!active) await new Promise((resolve) => setTimeout(resolve, 10))
      }
      expect(active).toBe(true)
      leaving.abort()
      await response.then((r) => r.body?.cancel(), () => undefined).catch(() => undefined)
      expect(await noActiveRuns(gateway())).toBe(true)
    }
  })
})

describe("DELETE /v1/runs/:runId", () => {
  const gateway = useGateway(gatewayConfig)

  it("cancels the caller's own run (its stream ends with RunCancelled), and no one else's", async () => {
    const response = await fetch(`http://127.0.0.1:${gateway().port}/v1/runs`, {
      method: "POST",
      headers: { ...bearer(tokens.writer), accept: "text/event-stream" },
      body: JSON.stringify({ command: "sleep 30", mode: "inline" })
    })
    const runId = response.headers.get("x-openclaw-run-id") ?? ""
    expect(runId).not.toBe("")

    const byOther = await request(gateway(), { method: "DELETE", path: `/v1/runs/${runId}`, headers: bearer(tokens.other) })
    expect(byOther.status).toBe(404)
    expect(decodeError(byOther.body).error._tag).toBe("RunNotFound")
    const byReader = await request(gateway(), { method: "DELETE", path: `/v1/runs/${runId}`, headers: bearer(tokens.reader) })
    expect(byReader.status).toBe(403)

    const cancelled = await request(gateway(), { method: "DELETE", path: `/v1/runs/${runId}`, headers: bearer(tokens.writer) })
    expect(cancelled.status).toBe(204)
    const frames = sseFrames(await response.text())
    const last = frames.at(-1)
    expect(last?.event).toBe("error")
    expect(decodeError(last?.data).error).toMatchObject({ _tag: "RunCancelled", reason: "client" })

    const again = await request(gateway(), { method: "DELETE", path: `/v1/runs/${runId}`, headers: bearer(tokens.writer) })
    expect(again.status).toBe(404)
  })
})

describe("shutdown", () => {
  it("ends a streamed run with RunCancelled{shutdown} and answers new runs 503 GatewayShuttingDown", async () => {
    const scope = Effect.runSync(Scope.make())
    const gateway = await Effect.runPromise(
      Scope.extend(startInProcessGateway({ gateway: { shutdownGraceMs: 500 } }), scope)
    )
    const streaming = await fetch(`http://127.0.0.1:${gateway.port}/v1/runs`, {
      method: "POST",
      headers: { authorization: `Bearer ${gateway.token}`, accept: "text/event-stream" },
      body: JSON.stringify({ command: "sleep 30", mode: "inline" })
    })
    const body = streaming.text()
    const closed = Effect.runPromise(Scope.close(scope, Exit.void))
    let refused: Answer | undefined
    for (let i = 0; i < 100 && refused?.status !== 503; i++) {
      refused = await request(gateway, {
        body: JSON.stringify({ prompt: "x", mode: "inline" }),
        headers: bearer(gateway.token)
      })
    }
    expect(refused?.status).toBe(503)
    expect(decodeError(refused?.body).error._tag).toBe("GatewayShuttingDown")
    await closed
    const last = sseFrames(await body).at(-1)
    expect(last?.event).toBe("error")
    expect(decodeError(last?.data).error).toMatchObject({ _tag: "RunCancelled", reason: "shutdown" })
  })
  it("lets a paused SSE reader receive every frame up to RunCancelled{shutdown} before the connection closes", async () => {
    const scope = Effect.runSync(Scope.make())
    const gateway = await Effect.runPromise(
      Scope.extend(startInProcessGateway({ gateway: { shutdownGraceMs: 500 } }), scope)
    )
    // Megabytes of output to a reader that does not read: the run's last frame waits behind what the sockets hold
    // and the run's buffer (runs.eventBufferBytes, 1 MB), so only a shutdown that lets answers finish delivers it.
    const response = await new Promise<http.IncomingMessage>((resolve, reject) => {
      const req = http.request({
        host: "127.0.0.1",
        port: gateway.port,
        method: "POST",
        path: "/v1/runs",
        agent: false,
        headers: { ...bearer(gateway.token), accept: "text/event-stream" }
      }, resolve)
      req.on("error", reject)
      req.end(JSON.stringify({ command: "head -c 16000000 /dev/zero | tr '\\0' x; sleep 30", mode: "inline" }))
    })
    response.pause()
    const parts: Array<Buffer> = []
    const body = new Promise<string>((resolve, reject) => {
      response.on("data", (part: Buffer) => parts.push(part))
      response.on("end", () => resolve(Buffer.concat(parts).toString()))
      response.on("error", reject)
    })
    const closed = Effect.runPromise(Scope.close(scope, Exit.void))
    // By then the grace period is over and the run cancelled: a shutdown that cuts connections has cut this one.
    await new Promise((resolve) => setTimeout(resolve, 1000))
    response.resume()

    const frames = sseFrames(await body)
    const last = frames.at(-1)
    expect(last?.event).toBe("error")
    expect(decodeError(last?.data).error).toMatchObject({ _tag: "RunCancelled", reason: "shutdown" })
    const events = frames.slice(0, -1).map((frame) => decodeEvent(frame.data))
    expect(events.map((event) => event.seq)).toEqual(events.map((_, index) => index))
    const output = events.flatMap((event) => event._tag === "CommandOutput" ? [event.text] : []).join("")
    // At least the run's byte budget was waiting in the gateway, whatever the kernel's socket buffers held.
    expect(output.length).toBeGreaterThan(1_000_000)
    await closed
  })
})

describe("statusOf", () => {
  it("gives each typed failure its HTTP status and the busy answers a Retry-After", () => {
    const runId = RunId.make("r1")
    const cases: ReadonlyArray<readonly [HttpFailure, number]> = [
      [new InvalidRequest({ reason: "x" }), 400],
      [new BearerRejected({ reason: "x" }), 401],
      [new Forbidden({ principal: "p", scope: "admin" }), 403],
      [new OriginRejected({ origin: "https://x" }), 403],
      [new AgentNotAllowed({ agent: "a", allowed: [] }), 403],
      [new RunNotFound({ runId: "r1" }), 404],
      [new PayloadTooLarge({ limitBytes: 1 }), 413],
      [new QueueFull({ queueSize: 1, retryAfterMs: 1500 }), 429],
      [new QuotaExceeded({ principal: "p", limit: "runsPerMinute", retryAfterMs: 200 }), 429],
      [new RunCancelled({ runId, reason: "client" }), 499],
      [new RunCancelled({ runId, reason: "shutdown" }), 503],
      [new GatewayShuttingDown(), 503],
      [new ProviderFailed({ provider: "openai", reason: "x" }), 502],
      [new RunTimedOut({ runId, timeoutMs: 1 }), 504],
      [new AgentFailed({ runId, reason: "x" }), 500],
      [new ThreadOutOfMemory({ runId, heapMb: 64 }), 500],
      [new CpuQuotaExceeded({ runId, cpuTimeMs: 1 }), 500],
      [new WorkerCrashed({ runId, exitCode: 1, reason: "x" }), 500]
    ]
    for (const [error, status] of cases) expect([error._tag, statusOf(error)]).toEqual([error._tag, status])
    expect(headersOf(new QueueFull({ queueSize: 1, retryAfterMs: 1500 }))).toEqual({ "retry-after": "2" })
    expect(headersOf(new QuotaExceeded({ principal: "p", limit: "runsPerMinute", retryAfterMs: 200 })))
      .toEqual({ "retry-after": "1" })
    expect(headersOf(new InvalidRequest({ reason: "x" }))).toEqual({})
  })
})
