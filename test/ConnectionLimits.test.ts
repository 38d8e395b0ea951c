/**
 * Connection safety as an attacker would probe it, over real loopback sockets against the whole gateway:
 * foreign origins, connection floods, too many streams, message floods, clients that never read, clients that
 * never speak, oversized upgrade requests. Each is refused with its defined answer and the gateway keeps
 * serving everyone else.
 */
import * as net from "node:net"
import { describe, expect, it } from "vitest"
import WebSocket from "ws"
import { type TestGateway, useGateway } from "./support/TestGateway.js"

type Json = Record<string, unknown>

interface Client {
  readonly ws: WebSocket
  readonly messages: Array<Json>
  readonly closed: Promise<number>
  /** Sends a request carrying the session token (once `connect` has run). */
  readonly request: (id: string, tag: string, payload?: Json) => void
  readonly next: (predicate: (message: Json) => boolean, timeoutMs?: number) => Promise<Json>
  readonly connect: () => Promise<void>
}

const open = (gateway: TestGateway, options: WebSocket.ClientOptions = {}, query = ""): Promise<Client> =>
  new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://127.0.0.1:${gateway.port}/${query}`, {
      ...options,
      headers: { authorization: `Bearer ${gateway.token}`, ...options.headers }
    })
    const messages: Array<Json> = []
    let session = ""
    const closed = new Promise<number>((done) => ws.once("close", (code) => done(code)))
    ws.on("message", (data) => {
      const parsed: unknown = JSON.parse(data.toString())
      if (typeof parsed === "object" && parsed !== null) messages.push(Object.fromEntries(Object.entries(parsed)))
    })
    const next = async (predicate: (message: Json) => boolean, timeoutMs = 5000) => {
      const deadline = Date.now() + timeoutMs
      for (;;) {
        const index = messages.findIndex(predicate)
        if (index >= 0) return messages.splice(index, 1)[0] ?? {}
        if (Date.now() > deadline) throw new Error(`no matching message: ${JSON.stringify(messages)}`)
        await new Promise((done) => setTimeout(done, 5))
      }
    }
    const request = (id: string, tag: string, payload: Json = {}) =>
      ws.send(JSON.stringify({
        _tag: "Request",
        id,
        tag,
        payload,
        headers: session === "" ? [] : [["authorization", `Bearer ${session}`]]
      }))
    const connect = async () => {
      request("0", "Connect", {})
      const answer = await next((message) => message.requestId === "0")
      const exit = answer.exit
      const value = typeof exit === "object" && exit !== null && "value" in exit ? exit.value : undefined
      session = typeof value === "object" && value !== null && "sessionToken" in value
        ? String(value.sessionToken)
        : ""
    }
    ws.once("open", () => resolve({ ws, messages, closed, request, next, connect }))
    ws.once("error", reject)
  })

const upgradeStatus = (gateway: TestGateway, headers: Record<string, string>) =>
  new Promise<number>((resolve) => {
    const ws = new WebSocket(`ws://127.0.0.1:${gateway.port}/`, { headers })
    ws.once("unexpected-response", (_request, response) => {
      resolve(response.statusCode ?? 0)
      ws.terminate()
    })
    ws.once("open", () => {
      resolve(101)
      ws.close()
    })
    ws.once("error", () => resolve(-1))
  })

const healthy = async (gateway: TestGateway) => (await fetch(`http://127.0.0.1:${gateway.port}/healthz`)).status

const longReply = Array.from({ length: 300 }, (_, i) => `w${i}`).join(" ")

describe("origins and upgrades", () => {
  const gateway = useGateway({
    security: { websocket: { allowedOrigins: ["https://app.example.com"], handshakeTimeoutMs: 500 } }
  })

  it("refuses a foreign Origin with 403 and accepts a listed one or none", async () => {
    const auth = { authorization: `Bearer ${gateway().token}` }
    expect(await upgradeStatus(gateway(), { ...auth, origin: "https://evil.example" })).toBe(403)
    expect(await upgradeStatus(gateway(), { ...auth, origin: "https://app.example.com" })).toBe(101)
    expect(await upgradeStatus(gateway(), auth)).toBe(101)
  })

  it("never takes the token from the query string", async () => {
    const ws = new WebSocket(`ws://127.0.0.1:${gateway().port}/?token=${gateway().token}`)
    const status = await new Promise<number>((resolve) => {
      ws.once("unexpected-response", (_request, response) => resolve(response.statusCode ?? 0))
      ws.once("open", () => resolve(101))
      ws.once("error", () => resolve(-1))
    })
    ws.terminate()
    expect(status).toBe(401)
  })

  it("refuses thousands of headers and a huge Sec-WebSocket-Protocol with 431, and keeps serving", async () => {
    const many = Object.fromEntries(Array.from({ length: 3000 }, (_, i) => [`x-h${i}`, "v"]))
    expect(await upgradeStatus(gateway(), { authorization: `Bearer ${gateway().token}`, ...many })).toBe(431)
    expect(await upgradeStatus(gateway(), { "sec-websocket-protocol": "a".repeat(64 * 1024) })).toBe(431)
    expect(await healthy(gateway())).toBe(200)
  })

  it("drops a client that connects and never speaks after the handshake timeout", async () => {
    const socket = net.connect(gateway().port, "127.0.0.1")
    const started = Date.now()
    await new Promise<void>((resolve) => socket.once("close", () => resolve()))
    expect(Date.now() - started).toBeLessThan(5000)
    expect(await healthy(gateway())).toBe(200)
  })
})

describe("connection and stream limits", () => {
  const gateway = useGateway({
    security: {
      websocket: { maxConnections: 3, maxConnectionsPerPrincipal: 2, maxStreamsPerConnection: 1, maxMessagesPerSecond: 40 }
    },
    models: { providers: { mock: { tokenDelayMs: 10, reply: longReply } } }
  })

  it("past the per-principal limit a connection is closed with 1013; the others keep working", async () => {
    const first = await open(gateway())
    const second = await open(gateway())
    const third = await open(gateway())
    expect(await third.closed).toBe(1013)
    await first.connect()
    first.request("1", "Status")
    expect((await first.next((message) => message.requestId === "1")).exit).toMatchObject({ _tag: "Success" })
    first.ws.close()
    second.ws.close()
    await Promise.all([first.closed, second.closed])
  })

  it("a second request in flight past maxStreamsPerConnection fails alone; the first keeps streaming", async () => {
    const client = await open(gateway(), {}, "?ack=auto")
    await client.connect()
    client.request("1", "StartRun", { prompt: "long", mode: "inline" })
    await client.next((message) => message.requestId === "1" && message._tag === "Chunk")
    client.request("2", "StartRun", { prompt: "another", mode: "inline" })
    const refused = await client.next((message) => message.requestId === "2")
    expect(JSON.stringify(refused)).toMatch(/too many requests in flight/)
    await client.next((message) => message.requestId === "1" && message._tag === "Chunk")
    client.ws.close()
    await client.closed
  })

  it("a message flood closes that connection with 1008; another connection is unaffected", async () => {
    const bystander = await open(gateway())
    await bystander.connect()
    const flooder = await open(gateway())
    for (let i = 0; i < 200; i++) flooder.ws.send(JSON.stringify({ _tag: "Ping" }))
    expect(await flooder.closed).toBe(1008)
    bystander.request("1", "Status")
    expect((await bystander.next((message) => message.requestId === "1")).exit).toMatchObject({ _tag: "Success" })
    bystander.ws.close()
    await bystander.closed
  })
})

describe("slow consumers", () => {
  // Big tokens, so that a few streams outgrow what the kernel buffers on loopback.
  const bigToken = "x".repeat(1000)
  const bigReply = Array.from({ length: 3000 }, () => bigToken).join(" ")
  const gateway = useGateway({
    security: { websocket: { maxBufferedBytes: "256KB" } },
    models: { providers: { mock: { tokenDelayMs: 0, reply: bigReply } } }
  })
  /** A gateway that never cuts a slow reader off (its outbound limit is far above what the runs produce). */
  const patient = useGateway({
    security: { websocket: { maxBufferedBytes: "256MB" } },
    runs: { eventBuffer: 4 },
    models: { providers: { mock: { firstTokenDelayMs: 0, tokenDelayMs: 1, reply: bigReply } } }
  })

  it("with ?ack=auto, a client that stops reading holds its runs back instead of filling the gateway's memory", async () => {
    const client = await open(patient(), {}, "?ack=auto")
    await client.connect()
    client.ws.pause()
    // 4 runs of 3,000 1 KB tokens, one per ms: 12 MB, more than loopback buffers hold, within 3 s.
    for (let i = 1; i <= 4; i++) client.request(String(i), "StartRun", { prompt: "flood me", mode: "inline" })
    await new Promise((done) => setTimeout(done, 4000))
    // Past the socket's high-water mark a Chunk is acknowledged only once written and nothing is written, so the
    // streams stop taking events and each run waits on its full buffer (runs.eventBuffer) instead of completing.
    const watcher = await open(patient())
    await watcher.connect()
    watcher.request("1", "Status")
    const status = await watcher.next((message) => message.requestId === "1")
    expect(Object(Object(status.exit).value).runs).toHaveLength(4)
    // Once the client reads again the socket's buffer drains, the held Chunks count as delivered, and every run goes
    // on to its end.
    client.ws.resume()
    for (let i = 1; i <= 4; i++) {
      const exit = await client.next((message) => message.requestId === String(i) && message._tag === "Exit")
      expect(Object(exit.exit)._tag).toBe("Success")
    }
    client.ws.close()
    watcher.ws.close()
    await client.closed
  }, 30_000)

  it("a client that stops reading is disconnected instead of growing the gateway's memory", async () => {
    const rssBefore = process.memoryUsage().rss
    const client = await open(gateway(), {}, "?ack=auto")
    await client.connect()
    for (let i = 1; i <= 12; i++) client.request(String(i), "StartRun", { prompt: "flood me", mode: "inline" })
    await client.next((message) => message.requestId === "1" && message._tag === "Chunk")
    client.ws.pause()
    const watcher = await open(gateway())
    await watcher.connect()
    // The gateway drops the non-reading connection: only the watcher is left.
    for (let attempt = 0; ; attempt++) {
      watcher.request(String(100 + attempt), "Status")
      const status = await watcher.next((message) => message.requestId === String(100 + attempt))
      if (Object(Object(status.exit).value).connections === 1) break
      if (attempt > 100) throw new Error("the slow consumer was never disconnected")
      await new Promise((done) => setTimeout(done, 50))
    }
    // The runs would have produced ~24 MB for this client; the gateway (this process) held far less of it.
    expect(process.memoryUsage().rss - rssBefore).toBeLessThan(200 * 1024 * 1024)
    client.ws.resume()
    expect([1008, 1006]).toContain(await client.closed)
    watcher.ws.close()
  })
})
