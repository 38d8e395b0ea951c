/**
 * A reference for the transport bench, not a gateway: a bare `ws` server that answers the bench's WebSocket client
 * with the same frames and the same pacing as the gateway's mock (first token after `firstTokenDelayMs`, then one
 * every `tokenDelayMs`), and nothing else: no Effect, no RPC server, no authentication, no schemas, no supervision.
 * What it adds to the first token and the CPU it spends per token are what this machine, Node and the load generator
 * leave for any server, so the gateway's rows can be read against them.
 *
 *   node node_modules/.cache/openclaw-bench/bench/transport.js --quick --no-pool --only=WebSocket \
 *     --gateway-entry=node_modules/.cache/openclaw-bench/bench/bare-ws-server.js
 *
 * It reads the bench's `openclaw.json` ($OPENCLAW_CONFIG) for the mock's delays and reply, listens on an ephemeral
 * loopback port and prints it as the gateway does.
 */
import * as fs from "node:fs"
import { WebSocketServer } from "ws"

interface MockSettings {
  readonly firstTokenDelayMs: number
  readonly tokenDelayMs: number
  readonly reply: string
}

const settings = (): MockSettings => {
  const file = process.env["OPENCLAW_CONFIG"]
  const parsed: unknown = file === undefined ? {} : JSON.parse(fs.readFileSync(file, "utf8"))
  const mock: Record<string, unknown> = {}
  if (typeof parsed === "object" && parsed !== null && "models" in parsed) {
    const models = parsed.models
    if (typeof models === "object" && models !== null && "providers" in models) {
      const providers = models.providers
      if (typeof providers === "object" && providers !== null && "mock" in providers) {
        Object.assign(mock, providers.mock)
      }
    }
  }
  return {
    firstTokenDelayMs: typeof mock["firstTokenDelayMs"] === "number" ? mock["firstTokenDelayMs"] : 100,
    tokenDelayMs: typeof mock["tokenDelayMs"] === "number" ? mock["tokenDelayMs"] : 20,
    reply: typeof mock["reply"] === "string" ? mock["reply"] : "a reply"
  }
}

const { firstTokenDelayMs, reply, tokenDelayMs } = settings()
/** Word tokens keeping their trailing whitespace, as the mock splits its reply. */
const tokens = reply.match(/\S+\s*/g) ?? []
/** Token `i` is due this many ms after the run starts. */
const dueAt = (index: number) => firstTokenDelayMs + index * tokenDelayMs

const server = new WebSocketServer({ host: "127.0.0.1", port: 0, perMessageDeflate: false })
let runs = 0

server.on("connection", (ws) => {
  const timers = new Map<string, ReturnType<typeof setTimeout>>()
  const send = (frame: unknown) => ws.send(JSON.stringify(frame))
  ws.on("message", (data) => {
    const frame: unknown = JSON.parse(String(data))
    if (typeof frame !== "object" || frame === null || !("_tag" in frame)) return
    if (frame._tag === "Interrupt" && "requestId" in frame) {
      clearTimeout(timers.get(String(frame.requestId)))
      timers.delete(String(frame.requestId))
      return
    }
    if (frame._tag !== "Request" || !("id" in frame) || !("tag" in frame)) return
    const requestId = String(frame.id)
    if (frame.tag === "Connect") {
      send({ _tag: "Exit", requestId, exit: { _tag: "Success", value: { sessionToken: "bare" } } })
      return
    }
    const runId = `bare-${++runs}`
    const startedAt = Date.now()
    let seq = 0
    let next = 0
    send({
      _tag: "Chunk",
      requestId,
      values: [{ _tag: "RunStarted", runId, seq: seq++, at: startedAt, agent: "codex", mode: "inline", model: "bare" }]
    })
    // Like the mock: each wake-up sends every token already due, in one frame.
    const tick = () => {
      const now = Date.now()
      const values: Array<unknown> = []
      while (next < tokens.length && dueAt(next) <= now - startedAt) {
        values.push({ _tag: "TokenDelta", runId, seq: seq++, at: now, text: tokens[next++] })
      }
      if (next === tokens.length) {
        values.push({
          _tag: "RunCompleted",
          runId,
          seq: seq++,
          at: now,
          text: reply,
          usage: { inputTokens: 1, outputTokens: tokens.length },
          durationMs: now - startedAt
        })
        send({ _tag: "Chunk", requestId, values })
        send({ _tag: "Exit", requestId, exit: { _tag: "Success", value: null } })
        timers.delete(requestId)
        return
      }
      if (values.length > 0) send({ _tag: "Chunk", requestId, values })
      timers.set(requestId, setTimeout(tick, Math.max(0, dueAt(next) - (Date.now() - startedAt))))
    }
    timers.set(requestId, setTimeout(tick, firstTokenDelayMs))
  })
  ws.on("close", () => {
    for (const timer of timers.values()) clearTimeout(timer)
  })
})

server.on("listening", () => {
  const address = server.address()
  const port = typeof address === "object" && address !== null ? address.port : 0
  console.log(`bare ws server listening on ws://127.0.0.1:${port}`)
})

process.on("SIGTERM", () => {
  for (const client of server.clients) client.terminate()
  server.close(() => process.exit(0))
})
