/**
 * The WebSocket transport end to end over real loopback sockets, as a raw client sees it: the
 * handshake, the JSON frames, streamed runs with Acks, cancellation and disconnect, bad input,
 * limits and graceful shutdown.
 */
import { LanguageModel } from "@effect/ai"
import { Context, Effect, Exit, Layer, Scope, Stream } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import WebSocket from "ws"
import type { OpenclawConfigInput } from "../src/Config/ConfigSchema.js"
import { GatewayConfig } from "../src/Config/GatewayConfig.js"
import { RunSupervisor } from "../src/Agents/RunSupervisor.js"
import * as InlineRunner from "../src/Agents/InlineRunner.js"
import * as ThreadPool from "../src/Pool/ThreadPool.js"
import * as Quota from "../src/Quota/Quota.js"
import { ObservabilityLive } from "../src/Gateway/GatewayMain.js"
import { GatewayServer } from "../src/Gateway/GatewayServer.js"
import * as MockLanguageModel from "../src/Llm/MockLanguageModel.js"
import { fromProviders, ProviderRegistry } from "../src/Llm/ProviderRegistry.js"

const deferred = <A>() => {
  let resolve!: (value: A) => void
  const promise = new Promise<A>((done) => {
    resolve = done
  })
  return { promise, resolve }
}

interface Gateway {
  readonly port: number
  readonly token: string
  readonly url: string
  /** Resolves when the mock model's stream of a run was interrupted (cancel, disconnect, timeout). */
  readonly interrupted: () => Promise<void>
  readonly stop: () => Promise<void>
}

const tempDir = fs.mkdtempSync(path.join(os.tmpdir(), "openclaw-ws-"))
afterAll(() => fs.rmSync(tempDir, { recursive: true, force: true }))

const startGateway = async (name: string, input: OpenclawConfigInput = {}): Promise<Gateway> => {
  const tokenFile = path.join(tempDir, `${name}.token`)
  const configLayer = GatewayConfig.layerTest({
    ...input,
    gateway: { port: 0, bind: "127.0.0.1", shutdownGraceMs: 0, ...input.gateway, auth: { tokenFile } },
    agents: { threadPool: { minThreads: 0 } },
    models: {
      providers: { mock: { firstTokenDelayMs: 0, tokenDelayMs: 0, ...input.models?.providers?.mock } }
    }
  })
  let interruption = deferred<void>()
  // The mock model, wrapped to report when its stream is interrupted.
  const registry = Layer.effect(
    ProviderRegistry,
    Effect.gen(function*() {
      const { config } = yield* GatewayConfig
      const mock = yield* MockLanguageModel.make(config.models.providers.mock)
      const observed: LanguageModel.Service = {
        ...mock,
        streamText: (options) =>
          mock.streamText(options).pipe(Stream.ensuringWith((exit) =>
            Effect.sync(() => {
              if (Exit.isInterrupted(exit)) interruption.resolve()
            })
          ))
      }
      return fromProviders(
        { mock: { _tag: "Available", models: [config.models.providers.mock.model], languageModel: () => observed } },
        "mock/mock-1"
      )
    })
  )
  const scope = Effect.runSync(Scope.make())
  const context = await Effect.runPromise(
    Layer.buildWithScope(
      // Runs execute inline with an observed mock model; the pool (idle, minThreads 0) only answers Status.
      GatewayServer.Default.pipe(
        Layer.provide(
          Layer.merge(RunSupervisor.DefaultWithoutDependencies, ThreadPool.layer().pipe(Layer.provideMerge(Quota.layer)))
        ),
        Layer.provide(Layer.merge(registry, InlineRunner.layer)),
        Layer.provide(ObservabilityLive),
        Layer.provide(configLayer)
      ),
      scope
    )
  )
  const server = Context.get(context, GatewayServer)
  return {
    port: server.address.port,
    token: fs.readFileSync(tokenFile, "utf8").trim(),
    url: server.url,
    interrupted: () => interruption.promise.then(() => {
      interruption = deferred<void>()
    }),
    stop: () => Effect.runPromise(Scope.close(scope, Exit.void))
  }
}

type Json = Record<string, unknown>

/** A raw `ws` client that speaks the documented JSON frames. */
class RawClient {
  private readonly inbox: Array<Json> = []
  /** Every pending `next` (a test may wait for two requests at once): each message wakes them all to look. */
  private readonly waiters = new Set<() => void>()
  /** The session token from `Connect`, sent in every request's headers (message auth). */
  sessionToken = ""
  readonly closed: Promise<{ code: number; reason: string }>

  private constructor(readonly ws: WebSocket) {
    const closed = deferred<{ code: number; reason: string }>()
    this.closed = closed.promise
    ws.on("message", (data) => {
      const parsed: unknown = JSON.parse(data.toString())
      if (typeof parsed === "object" && parsed !== null && !Array.isArray(parsed)) {
        this.inbox.push(Object.fromEntries(Object.entries(parsed)))
        for (const wake of [...this.waiters]) wake()
      }
    })
    ws.on("close", (code, reason) => closed.resolve({ code, reason: reason.toString() }))
  }

  /** Opens the socket and calls `Connect` for the session token its requests carry. */
  static async connect(gateway: Gateway, token: string = gateway.token, query = ""): Promise<RawClient> {
    const ws = new WebSocket(`ws://127.0.0.1:${gateway.port}/${query}`, { headers: { authorization: `Bearer ${token}` } })
    const client = await new Promise<RawClient>((resolve, reject) => {
      ws.once("open", () => resolve(new RawClient(ws)))
      ws.once("error", reject)
    })
    client.send({ _tag: "Request", id: "999999999", tag: "Connect", payload: {}, headers: [] })
    const connected = await client.next((m) => m.requestId === "999999999")
    client.sessionToken = String(field(connected, "exit", "value", "sessionToken"))
    return client
  }

  send(frame: Json | string): void {
    this.ws.send(typeof frame === "string" ? frame : JSON.stringify(frame))
  }

  /** The next message matching `predicate` (earlier non-matching ones stay queued). */
  async next(predicate: (message: Json) => boolean = () => true, timeoutMs = 5000): Promise<Json> {
    const deadline = Date.now() + timeoutMs
    for (;;) {
      const index = this.inbox.findIndex(predicate)
      if (index >= 0) return this.inbox.splice(index, 1)[0] ?? {}
      const remaining = deadline - Date.now()
      if (remaining <= 0) throw new Error(`no matching message within ${timeoutMs} ms; inbox: ${JSON.stringify(this.inbox)}`)
      await new Promise<void>((resolve) => {
        const wake = () => {
          clearTimeout(timer)
          this.waiters.delete(wake)
          resolve()
        }
        const timer = setTimeout(wake, remaining)
        this.waiters.add(wake)
      })
    }
  }

  request(id: string, tag: string, payload: Json = {}): void {
    this.send({ _tag: "Request", id, tag, payload, headers: [["authorization", `Bearer ${this.sessionToken}`]] })
  }

  /** Reads a streamed request to its Exit, acking each Chunk (optionally after a delay). */
  async collect(id: string, options: { readonly ackDelayMs?: number } = {}) {
    const values: Array<Json> = []
    let chunks = 0
    for (;;) {
      const message = await this.next((m) => m.requestId === id)
      if (message._tag === "Exit") return { values, chunks, exit: message.exit }
      chunks++
      for (const value of asArray(message.values)) values.push(value)
      if (options.ackDelayMs !== undefined) await new Promise((resolve) => setTimeout(resolve, options.ackDelayMs))
      this.send({ _tag: "Ack", requestId: id })
    }
  }

  close(): void {
    this.ws.close()
  }
}

const asArray = (value: unknown): Array<Json> =>
  Array.isArray(value) ? value.filter((v): v is Json => typeof v === "object" && v !== null) : []

const field = (value: unknown, ...keys: Array<string>): unknown => {
  let current = value
  for (const key of keys) {
    if (typeof current !== "object" || current === null || !(key in current)) return undefined
    current = Object.fromEntries(Object.entries(current))[key]
  }
  return current
}

const failureTag = (exit: unknown) => field(exit, "cause", "error", "_tag")

const httpStatus = (port: number, pathname: string, headers: Record<string, string> = {}) =>
  fetch(`http://127.0.0.1:${port}${pathname}`, { headers }).then(async (response) => ({
    status: response.status,
    body: await response.text()
  }))

/** The status code of a refused upgrade, as the `ws` client reports it. */
const upgradeStatus = (port: number, options: WebSocket.ClientOptions, pathname = "/") =>
  new Promise<number>((resolve, reject) => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}${pathname}`, options)
    ws.once("unexpected-response", (_request, response) => {
      resolve(response.statusCode ?? 0)
      ws.terminate()
    })
    ws.once("open", () => {
      ws.close()
      reject(new Error("upgrade unexpectedly accepted"))
    })
    ws.once("error", () => undefined)
  })

describe("WebSocket transport", () => {
  let gateway: Gateway

  beforeAll(async () => {
    gateway = await startGateway("main", {
      acp: { codex: { maxMessageSize: "64KB" } },
      models: { providers: { mock: { reply: "one two three four five six seven eight nine ten" } } }
    })
  })
  afterAll(() => gateway.stop())

  it("serves /healthz and asks plain GET / to upgrade", async () => {
    const health = await httpStatus(gateway.port, "/healthz")
    expect(health.status).toBe(200)
    expect(JSON.parse(health.body)).toMatchObject({ status: "ok" })
    expect((await httpStatus(gateway.port, "/")).status).toBe(426)
  })

  it("refuses an upgrade without the right Bearer token with 401, before upgrading", async () => {
    expect(await upgradeStatus(gateway.port, {})).toBe(401)
    expect(await upgradeStatus(gateway.port, { headers: { authorization: "Bearer wrong" } })).toBe(401)
    expect(await upgradeStatus(gateway.port, { headers: { authorization: `Basic ${gateway.token}` } })).toBe(401)
    expect(await upgradeStatus(gateway.port, { headers: { authorization: `Bearer ${gateway.token}` } }, "/other"))
      .toBe(404)
  })

  it("accepts the token as a browser subprotocol and selects \"openclaw\"", async () => {
    const ws = new WebSocket(`ws://127.0.0.1:${gateway.port}/`, ["openclaw", `bearer.${gateway.token}`])
    await new Promise<void>((resolve, reject) => {
      ws.once("open", () => resolve())
      ws.once("error", reject)
    })
    expect(ws.protocol).toBe("openclaw")
    ws.close()
  })

  it("answers Connect, Status and Ping as documented", async () => {
    const client = await RawClient.connect(gateway)
    client.request("1", "Connect", { client: "raw-test" })
    const connect = await client.next((m) => m.requestId === "1")
    expect(field(connect, "exit", "_tag")).toBe("Success")
    expect(field(connect, "exit", "value", "protocolVersion")).toBe(1)
    expect(String(field(connect, "exit", "value", "sessionToken")).split(".")).toHaveLength(3)

    client.send({ _tag: "Ping" })
    expect(await client.next((m) => m._tag === "Pong")).toEqual({ _tag: "Pong" })

    client.request("2", "Status")
    const status = await client.next((m) => m.requestId === "2")
    expect(field(status, "exit", "value", "connections")).toBeGreaterThanOrEqual(1)
    client.close()
  })

  it("streams a run complete and in order, seq 0..n-1 without gaps, RunCompleted last", async () => {
    const client = await RawClient.connect(gateway)
    client.request("7", "StartRun", { agent: "codex", mode: "inline", prompt: "count" })
    const { values, exit } = await client.collect("7")
    expect(field(exit, "_tag")).toBe("Success")
    expect(values.map((event) => event.seq)).toEqual(values.map((_, index) => index))
    expect(new Set(values.map((event) => event.runId)).size).toBe(1)
    expect(values.at(-1)?._tag).toBe("RunCompleted")
    const text = values.filter((event) => event._tag === "TokenDelta").map((event) => String(event.text)).join("")
    expect(text).toBe("one two three four five six seven eight nine ten")
    expect(values.at(-1)?.text).toBe(text)
    client.close()
  })

  it("coalesces events produced while an Ack is outstanding into few Chunks", async () => {
    const client = await RawClient.connect(gateway)
    const reply = Array.from({ length: 300 }, (_, i) => `t${i}`).join(" ")
    const fast = await startGateway("fast", { models: { providers: { mock: { tokenDelayMs: 1, reply } } } })
    const fastClient = await RawClient.connect(fast)
    fastClient.request("1", "StartRun", { prompt: "go" })
    const { values, chunks } = await fastClient.collect("1", { ackDelayMs: 50 })
    const deltas = values.filter((event) => event._tag === "TokenDelta")
    expect(deltas.map((event) => String(event.text)).join("")).toBe(reply)
    expect(chunks).toBeLessThan(deltas.length / 3)
    fastClient.close()
    client.close()
    await fast.stop()
  })

  it("a client that stops acknowledging holds back only its own run, within runs.eventBuffer, until it acks", async () => {
    const reply = Array.from({ length: 100 }, (_, i) => `t${i}`).join(" ")
    const held = await startGateway("held", {
      runs: { eventBuffer: 4 },
      models: { providers: { mock: { tokenDelayMs: 1, reply } } }
    })
    const slow = await RawClient.connect(held)
    const other = await RawClient.connect(held)
    slow.request("1", "StartRun", { prompt: "go" })
    const first = await slow.next((m) => m.requestId === "1")
    expect(first._tag).toBe("Chunk")
    // Unacknowledged, the run goes no further than its buffer: another client's run of the same length completes
    // meanwhile, and the held one has sent nothing more and is still active.
    other.request("1", "StartRun", { prompt: "go" })
    const { exit: otherExit } = await other.collect("1")
    expect(field(otherExit, "_tag")).toBe("Success")
    await new Promise((resolve) => setTimeout(resolve, 200))
    other.request("2", "Status")
    expect(asArray(field(await other.next((m) => m.requestId === "2"), "exit", "value", "runs"))).toHaveLength(1)
    slow.send({ _tag: "Ack", requestId: "1" })
    const gathered = await slow.next((m) => m.requestId === "1")
    expect(asArray(gathered.values).length).toBeGreaterThan(1)
    expect(asArray(gathered.values).length).toBeLessThanOrEqual(5)
    slow.send({ _tag: "Ack", requestId: "1" })
    // Then it goes on to its end, nothing lost or repeated.
    const { exit, values } = await slow.collect("1")
    expect(field(exit, "_tag")).toBe("Success")
    const all = [...asArray(first.values), ...asArray(gathered.values), ...values]
    expect(all.map((event) => event.seq)).toEqual(all.map((_, index) => index))
    expect(all.filter((event) => event._tag === "TokenDelta").map((event) => String(event.text)).join("")).toBe(reply)
    slow.close()
    other.close()
    await held.stop()
  })

  it("with ?ack=auto the gateway acknowledges Chunks itself, so a hand-driven client needs no Acks", async () => {
    const paced = await startGateway("autoack", {
      models: { providers: { mock: { tokenDelayMs: 1, reply: Array.from({ length: 50 }, (_, i) => `w${i}`).join(" ") } } }
    })
    const client = await RawClient.connect(paced, paced.token, "?ack=auto")
    client.request("1", "StartRun", { prompt: "go" })
    const values: Array<Json> = []
    for (;;) {
      const message = await client.next((m) => m.requestId === "1")
      if (message._tag === "Exit") {
        expect(field(message, "exit", "_tag")).toBe("Success")
        break
      }
      values.push(...asArray(message.values))
    }
    expect(values.map((event) => event.seq)).toEqual(values.map((_, index) => index))
    const text = values.filter((event) => event._tag === "TokenDelta").map((event) => String(event.text)).join("")
    expect(text).toBe(Array.from({ length: 50 }, (_, i) => `w${i}`).join(" "))
    client.close()
    await paced.stop()
  })

  it("fails a run of a disallowed agent with a typed AgentNotAllowed", async () => {
    const client = await RawClient.connect(gateway)
    client.request("1", "StartRun", { agent: "rogue", prompt: "x" })
    const { exit } = await client.collect("1")
    expect(failureTag(exit)).toBe("AgentNotAllowed")
    client.close()
  })

  it("answers bad frames precisely and keeps serving the connection", async () => {
    const client = await RawClient.connect(gateway)
    client.send("{not json")
    expect(String(field(await client.next((m) => m._tag === "Defect"), "defect", "message"))).toMatch(/malformed JSON/)

    client.send({ hello: "world" })
    expect(String(field(await client.next((m) => m._tag === "Defect"), "defect", "message"))).toMatch(/expected/)

    // headers as an object (hung @effect/rpc in a spike): that request fails, nothing else.
    client.send({ _tag: "Request", id: "5", tag: "Status", payload: {}, headers: { a: "b" } })
    const badHeaders = await client.next((m) => m.requestId === "5")
    expect(field(badHeaders, "exit", "cause", "_tag")).toBe("Die")
    expect(String(field(badHeaders, "exit", "cause", "defect", "message"))).toMatch(/headers/)

    client.send({ _tag: "Request", id: "6", tag: "NoSuchRpc", payload: {}, headers: [] })
    expect(String(field(await client.next((m) => m.requestId === "6"), "exit", "cause", "defect", "message")))
      .toMatch(/unknown RPC "NoSuchRpc"/)

    client.send({ _tag: "Request", id: "abc", tag: "Status", payload: {}, headers: [] })
    expect(String(field(await client.next((m) => m._tag === "Defect"), "defect", "message"))).toMatch(/id/)

    client.ws.send(Buffer.from([1, 2, 3]), { binary: true })
    expect(String(field(await client.next((m) => m._tag === "Defect"), "defect", "message"))).toMatch(/binary/)

    client.send({ _tag: "Request", id: "8", tag: "StartRun", payload: { mode: "sideways" }, headers: [] })
    expect(field(await client.next((m) => m.requestId === "8"), "exit", "_tag")).toBe("Failure")

    // missing headers are tolerated (Connect needs no session token); the connection still works after all of the above
    client.send({ _tag: "Request", id: "9", tag: "Connect", payload: {} })
    expect(field(await client.next((m) => m.requestId === "9"), "exit", "_tag")).toBe("Success")
    client.close()
  })

  it("answers a burst of frames that arrive together, or batched in one message, each once and in order", async () => {
    const client = await RawClient.connect(gateway)
    // Sent in one turn, they reach the gateway in one or a few reads: the connection's handler takes them as a batch.
    const ids = Array.from({ length: 40 }, (_, i) => String(100 + i))
    for (const id of ids) client.send({ _tag: "Request", id, tag: "NoSuchRpc", payload: {}, headers: [] })
    const answered: Array<unknown> = []
    for (const _ of ids) answered.push((await client.next((m) => m.requestId !== undefined)).requestId)
    expect(answered).toEqual(ids)
    // And frames batched in one message, as a JSON array: each answered, in order.
    const batched = ["200", "201", "202"]
    const frames = batched.map((id) => ({ _tag: "Request", id, tag: "NoSuchRpc", payload: {}, headers: [] }))
    client.send(JSON.stringify(frames))
    const batchAnswers: Array<unknown> = []
    for (const _ of batched) batchAnswers.push((await client.next((m) => m.requestId !== undefined)).requestId)
    expect(batchAnswers).toEqual(batched)
    // The connection goes on serving.
    client.send({ _tag: "Ping" })
    expect((await client.next((m) => m._tag === "Pong"))._tag).toBe("Pong")
    client.close()
  })

  it("refuses a second request with an id still in flight, and the first one is untouched", async () => {
    const slow = await startGateway("duplicate", {
      models: { providers: { mock: { tokenDelayMs: 5, reply: Array.from({ length: 40 }, (_, i) => `w${i}`).join(" ") } } }
    })
    const client = await RawClient.connect(slow)
    client.request("20", "StartRun", { prompt: "go" })
    const collected = client.collect("20")
    client.request("20", "Status")
    expect(String(field(await client.next((m) => m._tag === "Defect"), "defect", "message")))
      .toMatch(/request id 20 is already in use/)
    const { exit, values } = await collected
    expect(field(exit, "_tag")).toBe("Success")
    expect(values.at(-1)?._tag).toBe("RunCompleted")
    client.close()
    await slow.stop()
  })

  it("reassembles a message sent as fragmented frames", async () => {
    const client = await RawClient.connect(gateway)
    const text = JSON.stringify({
      _tag: "Request",
      id: "30",
      tag: "Status",
      payload: {},
      headers: [["authorization", `Bearer ${client.sessionToken}`]]
    })
    const third = Math.ceil(text.length / 3)
    client.ws.send(text.slice(0, third), { fin: false })
    client.ws.send(text.slice(third, 2 * third), { fin: false })
    client.ws.send(text.slice(2 * third), { fin: true })
    expect(field(await client.next((m) => m.requestId === "30"), "exit", "_tag")).toBe("Success")
    client.close()
  })

  it("closes a connection that sends an oversize frame with 1009 while another keeps streaming", async () => {
    const slow = await startGateway("oversize", {
      acp: { codex: { maxMessageSize: "16KB" } },
      models: { providers: { mock: { tokenDelayMs: 5, reply: Array.from({ length: 60 }, (_, i) => `w${i}`).join(" ") } } }
    })
    const streaming = await RawClient.connect(slow)
    streaming.request("1", "StartRun", { prompt: "go" })
    const collected = streaming.collect("1")
    const offender = await RawClient.connect(slow)
    offender.send({ _tag: "Request", id: "1", tag: "Status", payload: { pad: "x".repeat(32 * 1024) }, headers: [] })
    expect((await offender.closed).code).toBe(1009)
    const { exit, values } = await collected
    expect(field(exit, "_tag")).toBe("Success")
    expect(values.at(-1)?._tag).toBe("RunCompleted")
    streaming.close()
    await slow.stop()
  })
})

describe("hostile frames", () => {
  it("invalid UTF-8 in a text frame closes only that connection, with 1007", async () => {
    const gateway = await startGateway("utf8")
    const bystander = await RawClient.connect(gateway)
    const offender = await RawClient.connect(gateway)
    offender.ws.send(Buffer.from([0x7b, 0xff, 0xfe, 0x7d]), { binary: false })
    expect((await offender.closed).code).toBe(1007)
    bystander.request("1", "Status")
    expect(field(await bystander.next((m) => m.requestId === "1"), "exit", "_tag")).toBe("Success")
    bystander.close()
    await gateway.stop()
  })
})

describe("run lifecycle over the socket", () => {
  let gateway: Gateway

  beforeAll(async () => {
    gateway = await startGateway("lifecycle", {
      models: { providers: { mock: { tokenDelayMs: 20, reply: Array.from({ length: 500 }, (_, i) => `w${i}`).join(" ") } } }
    })
  })
  afterAll(() => gateway.stop())

  const firstEvent = async (client: RawClient, id: string) => {
    const chunk = await client.next((m) => m.requestId === id && m._tag === "Chunk")
    client.send({ _tag: "Ack", requestId: id })
    const first = asArray(chunk.values)[0]
    if (first === undefined) throw new Error("empty chunk")
    return first
  }

  it("CancelRun stops the run: the stream fails with RunCancelled and the model sees the interruption", async () => {
    const client = await RawClient.connect(gateway)
    client.request("1", "StartRun", { prompt: "long" })
    const { runId } = await firstEvent(client, "1")
    const interrupted = gateway.interrupted()
    client.request("2", "CancelRun", { runId })
    expect(field(await client.next((m) => m.requestId === "2"), "exit", "_tag")).toBe("Success")
    const { exit } = await client.collect("1")
    expect(failureTag(exit)).toBe("RunCancelled")
    await interrupted
    client.request("3", "CancelRun", { runId })
    expect(failureTag(field(await client.next((m) => m.requestId === "3"), "exit"))).toBe("RunNotFound")
    client.close()
  })

  it("an Interrupt frame stops the run", async () => {
    const client = await RawClient.connect(gateway)
    client.request("1", "StartRun", { prompt: "long" })
    await firstEvent(client, "1")
    const interrupted = gateway.interrupted()
    client.send({ _tag: "Interrupt", requestId: "1" })
    await interrupted
    client.close()
  })

  it("a client disconnect stops its runs", async () => {
    const client = await RawClient.connect(gateway)
    client.request("1", "StartRun", { prompt: "long" })
    await firstEvent(client, "1")
    const interrupted = gateway.interrupted()
    client.ws.terminate()
    await interrupted
    const watcher = await RawClient.connect(gateway)
    for (let attempt = 0; attempt < 50; attempt++) {
      watcher.request(String(attempt), "Status")
      const runs = field(await watcher.next((m) => m.requestId === String(attempt)), "exit", "value", "runs")
      if (Array.isArray(runs) && runs.length === 0) break
      await new Promise((resolve) => setTimeout(resolve, 20))
    }
    watcher.request("999", "Status")
    expect(field(await watcher.next((m) => m.requestId === "999"), "exit", "value", "runs")).toEqual([])
    watcher.close()
  })

  it("a run over its timeoutMs fails with RunTimedOut", async () => {
    const client = await RawClient.connect(gateway)
    client.request("1", "StartRun", { prompt: "long", timeoutMs: 100 })
    const { exit, values } = await client.collect("1")
    expect(failureTag(exit)).toBe("RunTimedOut")
    expect(values.length).toBeGreaterThan(0)
    client.close()
  })

  it("shutdown cancels active runs with reason shutdown and closes sockets with 1001", async () => {
    const doomed = await startGateway("shutdown", {
      models: { providers: { mock: { tokenDelayMs: 20, reply: Array.from({ length: 500 }, (_, i) => `w${i}`).join(" ") } } }
    })
    const client = await RawClient.connect(doomed)
    client.request("1", "StartRun", { prompt: "long" })
    await firstEvent(client, "1")
    const collected = client.collect("1")
    await doomed.stop()
    const { exit } = await collected
    expect(failureTag(exit)).toBe("RunCancelled")
    expect(field(exit, "cause", "error", "reason")).toBe("shutdown")
    expect((await client.closed).code).toBe(1001)
  })
})

describe("heartbeat", () => {
  it("terminates a peer that stops answering pings, and stops its runs", async () => {
    const gateway = await startGateway("heartbeat", {
      security: { websocket: { heartbeatInterval: 50 } },
      models: { providers: { mock: { tokenDelayMs: 20, reply: Array.from({ length: 500 }, (_, i) => `w${i}`).join(" ") } } }
    })
    const alive = await RawClient.connect(gateway)
    // `autoPong: false` makes this client a dead peer: it never answers the gateway's pings.
    const ws = new WebSocket(`ws://127.0.0.1:${gateway.port}/`, {
      headers: { authorization: `Bearer ${gateway.token}` },
      autoPong: false
    })
    const closed = new Promise<number>((resolve) => ws.once("close", (code) => resolve(code)))
    await new Promise<void>((resolve, reject) => {
      ws.once("open", () => resolve())
      ws.once("error", reject)
    })
    const connected = new Promise<string>((resolve) =>
      ws.once("message", (data) => resolve(String(field(JSON.parse(data.toString()), "exit", "value", "sessionToken"))))
    )
    ws.send(JSON.stringify({ _tag: "Request", id: "0", tag: "Connect", payload: {}, headers: [] }))
    const authorization = ["authorization", `Bearer ${await connected}`]
    const interrupted = gateway.interrupted()
    ws.send(
      JSON.stringify({ _tag: "Request", id: "1", tag: "StartRun", payload: { prompt: "long" }, headers: [authorization] })
    )
    // Terminated without a close frame: the client sees an abnormal closure.
    expect(await closed).toBe(1006)
    await interrupted
    // The live peer answers pings (ws does by default) and stays connected.
    alive.request("1", "Status")
    expect(field(await alive.next((m) => m.requestId === "1"), "exit", "_tag")).toBe("Success")
    alive.close()
    await gateway.stop()
  })
})
