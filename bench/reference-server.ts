/**
 * The reference servers of the transport bench, not gateways: a bare `ws` server that answers the bench's WebSocket
 * client with the same frames and the same pacing as the gateway's mock (first token after `firstTokenDelayMs`, then
 * one every `tokenDelayMs`), and nothing else: no RPC server, no authentication, no schemas, no supervision. How a
 * run is paced is the only part left to the entry (`bare-ws-server.ts`: Node timers; `effect-ws-server.ts`: a fiber
 * per run). What they add to the first token and the CPU they spend per token are what this machine, Node (and
 * Effect's runtime) leave for any server, so the gateway's rows can be read against them.
 *
 * It reads the bench's `openclaw.json` ($OPENCLAW_CONFIG) for the mock's delays and reply, listens on an ephemeral
 * loopback port and prints it as the gateway does.
 */
import * as fs from "node:fs"
import { WebSocketServer } from "ws"

export interface MockSettings {
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

/**
 * One run's pacing: `tick` sends every token already due and says how long until the next one (undefined once the
 * run has ended); the pacer calls it after `firstTokenDelayMs`, then after each delay it returns. Returns a stop.
 */
export type Pacer = (tick: () => number | undefined, firstDelayMs: number) => () => void

export const serve = (pace: Pacer) => {
  const { firstTokenDelayMs, reply, tokenDelayMs } = settings()
  /** Word tokens keeping their trailing whitespace, as the mock splits its reply. */
  const tokens = reply.match(/\S+\s*/g) ?? []
  /** Token `i` is due this many ms after the run starts. */
  const dueAt = (index: number) => firstTokenDelayMs + index * tokenDelayMs

  const server = new WebSocketServer({ host: "127.0.0.1", port: 0, perMessageDeflate: false })
  let runs = 0

  server.on("connection", (ws) => {
    const stops = new Map<string, () => void>()
    const send = (frame: unknown) => ws.send(JSON.stringify(frame))
    ws.on("message", (data) => {
      const frame: unknown = JSON.parse(String(data))
      if (typeof frame !== "object" || frame === null || !("_tag" in frame)) return
      if (frame._tag === "Interrupt" && "requestId" in frame) {
        stops.get(String(frame.requestId))?.()
        stops.delete(String(frame.requestId))
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
        values: [
          { _tag: "RunStarted", runId, seq: seq++, at: startedAt, agent: "codex", mode: "inline", model: "bare" }
        ]
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
          stops.delete(requestId)
          return undefined
        }
        if (values.length > 0) send({ _tag: "Chunk", requestId, values })
        return Math.max(0, dueAt(next) - (Date.now() - startedAt))
      }
      stops.set(requestId, pace(tick, firstTokenDelayMs))
    })
    ws.on("close", () => {
      for (const stop of stops.values()) stop()
    })
  })

  server.on("listening", () => {
    const address = server.address()
    const port = typeof address === "object" && address !== null ? address.port : 0
    console.log(`reference ws server listening on ws://127.0.0.1:${port}`)
  })

  process.on("SIGTERM", () => {
    for (const client of server.clients) client.terminate()
    server.close(() => process.exit(0))
  })
}
