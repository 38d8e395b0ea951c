/**
 * A raw `ws` client for end-to-end tests where the attacker's view matters: it sends exactly the JSON
 * frames it is told to (headers included), acks Chunks, and reads answers by request id.
 */
import WebSocket from "ws"

export type Json = Record<string, unknown>

export class RawSocket {
  private readonly inbox: Array<Json> = []
  private waiters: Array<() => void> = []

  private constructor(readonly ws: WebSocket) {
    ws.on("message", (data) => {
      const parsed: unknown = JSON.parse(data.toString())
      if (typeof parsed === "object" && parsed !== null && !Array.isArray(parsed)) {
        this.inbox.push(Object.fromEntries(Object.entries(parsed)))
        const waiters = this.waiters
        this.waiters = []
        for (const wake of waiters) wake()
      }
    })
  }

  static open(url: string, token: string): Promise<RawSocket> {
    const ws = new WebSocket(url, { headers: { authorization: `Bearer ${token}` } })
    return new Promise((resolve, reject) => {
      ws.once("open", () => resolve(new RawSocket(ws)))
      ws.once("error", reject)
    })
  }

  send(frame: Json): void {
    this.ws.send(JSON.stringify(frame))
  }

  /** A request frame with exactly these headers (`authorization` from `jwt` when given). */
  request(id: string, tag: string, payload: Json = {}, jwt?: string): void {
    const headers = jwt === undefined ? [] : [["authorization", `Bearer ${jwt}`]]
    this.send({ _tag: "Request", id, tag, payload, headers })
  }

  async next(predicate: (message: Json) => boolean, timeoutMs = 5000): Promise<Json> {
    const deadline = Date.now() + timeoutMs
    for (;;) {
      const index = this.inbox.findIndex(predicate)
      if (index >= 0) return this.inbox.splice(index, 1)[0] ?? {}
      const remaining = deadline - Date.now()
      if (remaining <= 0) throw new Error(`no matching message within ${timeoutMs} ms: ${JSON.stringify(this.inbox)}`)
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, remaining)
        this.waiters.push(() => {
          clearTimeout(timer)
          resolve()
        })
      })
    }
  }

  /** The Exit of a non-streamed request. */
  exit(id: string): Promise<unknown> {
    return this.next((message) => message.requestId === id && message._tag === "Exit").then((message) => message.exit)
  }

  /** `Connect` and its session token. */
  async connect(id = "1000"): Promise<string> {
    this.request(id, "Connect")
    return String(field(await this.exit(id), "value", "sessionToken"))
  }

  /** Reads a stream to its Exit, acking each Chunk; `onChunk` runs after each Chunk is read. */
  async collect(id: string, onChunk?: () => void): Promise<{ readonly values: Array<Json>; readonly exit: unknown }> {
    const values: Array<Json> = []
    for (;;) {
      const message = await this.next((m) => m.requestId === id, 15_000)
      if (message._tag === "Exit") return { values, exit: message.exit }
      onChunk?.()
      const chunk = message.values
      if (Array.isArray(chunk)) {
        for (const value of chunk) if (typeof value === "object" && value !== null) values.push({ ...value })
      }
      this.send({ _tag: "Ack", requestId: id })
    }
  }

  close(): void {
    this.ws.close()
  }
}

/** A stream read to its Exit in the background, and a promise of its first Chunk. */
export const streamed = (socket: RawSocket, id: string) => {
  let started: () => void = () => undefined
  const firstChunk = new Promise<void>((resolve) => {
    started = resolve
  })
  return { result: socket.collect(id, () => started()), firstChunk }
}

export const field = (value: unknown, ...keys: Array<string>): unknown => {
  let current = value
  for (const key of keys) {
    if (typeof current !== "object" || current === null || !(key in current)) return undefined
    current = Object.fromEntries(Object.entries(current))[key]
  }
  return current
}

/** The typed error of a failed Exit (`exit.cause.error`). */
export const failure = (exit: unknown): unknown => field(exit, "cause", "error")
