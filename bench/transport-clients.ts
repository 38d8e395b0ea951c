/**
 * The benchmark's raw clients of one gateway, one per transport: (a) HTTP request/response on a new connection per
 * run, (b) HTTP keep-alive + Server-Sent Events, (c) the RPC WebSocket with `?ack=auto`, many runs per connection.
 * Each times a run from the moment its request is written (time to first token, time to last token) and counts the
 * bytes its sockets actually read and wrote (`socket.bytesRead` / `bytesWritten`: HTTP and WebSocket framing
 * included, TCP/IP headers not).
 */
import * as http from "node:http"
import type * as net from "node:net"
import { performance } from "node:perf_hooks"
import WebSocket from "ws"

export interface Target {
  readonly host: string
  readonly port: number
  readonly token: string
  /** The `StartRun` payload of every run. */
  readonly spec: object
}

export interface RunOutcome {
  /** Undefined for a run that completed; else what went wrong ("ECONNRESET", "http 429", "RunTimedOut", ...). */
  readonly error: string | undefined
  /** From the request's start to its first token event (HTTP request/response: to the whole answer). */
  readonly ttftMs: number
  /** From the request's start to `RunCompleted`. */
  readonly ttltMs: number
  /** From the request's start to its first event of any kind (`RunStarted`; HTTP request/response: the answer). */
  readonly firstEventMs: number
  readonly tokenEvents: number
  /** UTF-8 bytes of the tokens' text. */
  readonly textBytes: number
}

export interface SocketBytes {
  /** Bytes the clients read (gateway -> client) */
  readonly down: number
  /** Bytes the clients wrote (client -> gateway) */
  readonly up: number
}

/** The load generator's view of one transport at one concurrency. */
export interface Session {
  readonly run: (user: number) => Promise<RunOutcome>
  /** Socket bytes of the runs so far (connection setup of the WebSocket excluded: it is paid once). */
  readonly bytes: () => SocketBytes
  readonly close: () => Promise<void>
}

export interface Transport {
  readonly name: string
  readonly open: (target: Target, concurrency: number, runTimeoutMs: number) => Promise<Session>
}

/** Tallies one run's events as they arrive. */
class RunTally {
  readonly start = performance.now()
  ttft = Number.NaN
  ttlt = Number.NaN
  firstEvent = Number.NaN
  tokenEvents = 0
  textBytes = 0
  completed = false

  event(event: { readonly _tag?: unknown; readonly text?: unknown }, now: number) {
    if (Number.isNaN(this.firstEvent)) this.firstEvent = now - this.start
    if (event._tag === "TokenDelta") {
      if (this.tokenEvents === 0) this.ttft = now - this.start
      this.tokenEvents++
      if (typeof event.text === "string") this.textBytes += Buffer.byteLength(event.text)
    } else if (event._tag === "RunCompleted") {
      this.ttlt = now - this.start
      this.completed = true
    }
  }

  outcome(error: string | undefined): RunOutcome {
    const failed = error ?? (this.completed ? undefined : "ended without RunCompleted")
    return {
      error: failed,
      ttftMs: this.ttft,
      ttltMs: this.ttlt,
      firstEventMs: this.firstEvent,
      tokenEvents: this.tokenEvents,
      textBytes: this.textBytes
    }
  }
}

const errorKind = (error: unknown): string => {
  if (typeof error === "object" && error !== null && "code" in error && typeof error.code === "string") {
    return error.code
  }
  return error instanceof Error ? error.message : String(error)
}

const tagOf = (body: string): string => {
  try {
    const parsed: unknown = JSON.parse(body)
    if (typeof parsed === "object" && parsed !== null && "_tag" in parsed) return String(parsed._tag)
  } catch {
    // not JSON: the status alone says it
  }
  return ""
}

/** Splits an SSE body into the JSON of its `data:` lines, and notes `event: error` frames. */
class SseParser {
  private buffer = ""
  error: string | undefined

  push(text: string, onEvent: (event: { readonly _tag?: unknown; readonly text?: unknown }) => void) {
    this.buffer += text
    let end = this.buffer.indexOf("\n\n")
    while (end >= 0) {
      const frame = this.buffer.slice(0, end)
      this.buffer = this.buffer.slice(end + 2)
      const data = frame.split("\n").find((line) => line.startsWith("data: "))?.slice(6)
      if (data !== undefined) {
        if (frame.startsWith("event: error")) this.error = tagOf(data) || "event: error"
        else onEvent(JSON.parse(data))
      }
      end = this.buffer.indexOf("\n\n")
    }
  }
}

const httpRun = (
  target: Target,
  options: { readonly agent: http.Agent | false; readonly sse: boolean; readonly timeoutMs: number },
  count: (socket: net.Socket, read0: number, written0: number) => void
): Promise<RunOutcome> =>
  new Promise((resolve) => {
    const body = JSON.stringify(target.spec)
    const tally = new RunTally()
    let settled = false
    let socket: net.Socket | undefined
    let read0 = 0
    let written0 = 0
    const finish = (error: string | undefined) => {
      if (settled) return
      settled = true
      clearTimeout(timer)
      if (socket !== undefined) count(socket, read0, written0)
      resolve(tally.outcome(error))
    }
    const request = http.request({
      host: target.host,
      port: target.port,
      method: "POST",
      path: "/v1/runs",
      agent: options.agent,
      headers: {
        authorization: `Bearer ${target.token}`,
        "content-type": "application/json",
        "content-length": Buffer.byteLength(body),
        ...(options.sse ? { accept: "text/event-stream" } : {})
      }
    })
    const timer = setTimeout(() => {
      finish("timeout")
      request.destroy()
    }, options.timeoutMs)
    request.on("socket", (assigned) => {
      socket = assigned
      read0 = assigned.bytesRead
      written0 = assigned.bytesWritten
    })
    request.on("error", (error) => finish(errorKind(error)))
    request.on("response", (response) => {
      response.setEncoding("utf8")
      if (response.statusCode !== 200) {
        let text = ""
        response.on("data", (chunk: string) => void (text += chunk))
        response.on("end", () => finish(`http ${response.statusCode} ${tagOf(text)}`.trim()))
        return
      }
      if (options.sse) {
        const parser = new SseParser()
        response.on("data", (chunk: string) => parser.push(chunk, (event) => tally.event(event, performance.now())))
        response.on("end", () => finish(parser.error))
      } else {
        let text = ""
        response.on("data", (chunk: string) => void (text += chunk))
        response.on("end", () => {
          // The whole answer at once: its first token arrives with its last.
          const now = performance.now()
          const result: { readonly events?: ReadonlyArray<{ readonly _tag?: unknown; readonly text?: unknown }> } =
            JSON.parse(text)
          for (const event of result.events ?? []) tally.event(event, now)
          finish(undefined)
        })
      }
      response.on("error", (error) => finish(errorKind(error)))
    })
    request.end(body)
  })

/** Sums the bytes of HTTP requests, each measured on its socket from the moment it got it. */
const httpSession = (
  target: Target,
  runTimeoutMs: number,
  sse: boolean,
  agent: http.Agent | false
): Session => {
  let down = 0
  let up = 0
  const count = (socket: net.Socket, read0: number, written0: number) => {
    down += socket.bytesRead - read0
    up += socket.bytesWritten - written0
  }
  return {
    run: () => httpRun(target, { agent, sse, timeoutMs: runTimeoutMs }, count),
    bytes: () => ({ down, up }),
    close: async () => {
      if (agent !== false) agent.destroy()
    }
  }
}

export const httpNewConnection: Transport = {
  name: "HTTP request/response, new connection per run",
  // `agent: false`: a fresh connection per request, closed after it (Connection: close).
  open: async (target, _concurrency, runTimeoutMs) => httpSession(target, runTimeoutMs, false, false)
}

export const httpKeepAliveSse: Transport = {
  name: "HTTP keep-alive + SSE",
  open: async (target, _concurrency, runTimeoutMs) =>
    httpSession(target, runTimeoutMs, true, new http.Agent({ keepAlive: true, maxSockets: Infinity }))
}

interface RpcMessage {
  readonly _tag?: unknown
  readonly requestId?: unknown
  readonly values?: ReadonlyArray<{ readonly _tag?: unknown; readonly text?: unknown }>
  readonly exit?: {
    readonly _tag?: unknown
    readonly value?: { readonly sessionToken?: unknown }
    readonly cause?: { readonly _tag?: unknown; readonly error?: { readonly _tag?: unknown } }
  }
}

/** One WebSocket with `?ack=auto`, carrying many runs at once. */
class WsConnection {
  private nextId = 1
  private readonly pending = new Map<string, { tally: RunTally; finish: (error: string | undefined) => void }>()
  private sessionToken = ""
  private read0 = 0
  private written0 = 0

  private constructor(
    private readonly ws: WebSocket,
    private readonly socket: net.Socket,
    private readonly spec: object
  ) {}

  static open(target: Target): Promise<WsConnection> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(`ws://${target.host}:${target.port}/?ack=auto`, {
        headers: { authorization: `Bearer ${target.token}` },
        perMessageDeflate: false
      })
      let connection: WsConnection | undefined
      ws.on("upgrade", (response) => {
        connection = new WsConnection(ws, response.socket, target.spec)
      })
      ws.on("error", (error) => reject(error))
      ws.on("open", () => {
        if (connection === undefined) return reject(new Error("no upgrade response"))
        const opened = connection
        ws.on("message", (data) => opened.onMessage(data.toString(), resolve))
        ws.on("close", (code) => opened.failAll(`ws closed ${code}`))
        ws.send(JSON.stringify({ _tag: "Request", id: "0", tag: "Connect", payload: { client: "bench" }, headers: [] }))
      })
    })
  }

  private onMessage(text: string, connected: (connection: WsConnection) => void) {
    const now = performance.now()
    const parsed: RpcMessage | ReadonlyArray<RpcMessage> = JSON.parse(text)
    for (const message of Array.isArray(parsed) ? parsed : [parsed]) {
      const requestId = String(message.requestId)
      if (message._tag === "Exit" && requestId === "0") {
        this.sessionToken = String(message.exit?.value?.sessionToken)
        // Setup (upgrade, Connect) is paid once per connection: runs are counted from here.
        this.read0 = this.socket.bytesRead
        this.written0 = this.socket.bytesWritten
        connected(this)
        continue
      }
      const run = this.pending.get(requestId)
      if (run === undefined) continue
      if (message._tag === "Chunk") {
        for (const event of message.values ?? []) run.tally.event(event, now)
      } else if (message._tag === "Exit") {
        const exit = message.exit
        run.finish(
          exit?._tag === "Success" ? undefined : String(exit?.cause?.error?._tag ?? exit?.cause?._tag ?? "failure")
        )
      }
    }
  }

  failAll(error: string) {
    for (const run of [...this.pending.values()]) run.finish(error)
  }

  run(timeoutMs: number): Promise<RunOutcome> {
    return new Promise((resolve) => {
      const id = String(this.nextId++)
      const tally = new RunTally()
      const finish = (error: string | undefined) => {
        if (!this.pending.delete(id)) return
        clearTimeout(timer)
        resolve(tally.outcome(error))
      }
      const timer = setTimeout(() => {
        if (this.ws.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify({ _tag: "Interrupt", requestId: id }))
        finish("timeout")
      }, timeoutMs)
      this.pending.set(id, { tally, finish })
      if (this.ws.readyState !== WebSocket.OPEN) return finish("ws not open")
      this.ws.send(
        JSON.stringify({
          _tag: "Request",
          id,
          tag: "StartRun",
          payload: this.spec,
          headers: [["authorization", `Bearer ${this.sessionToken}`]]
        })
      )
    })
  }

  bytes(): SocketBytes {
    return { down: this.socket.bytesRead - this.read0, up: this.socket.bytesWritten - this.written0 }
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      if (this.ws.readyState === WebSocket.CLOSED) return resolve()
      this.ws.once("close", () => resolve())
      this.ws.close(1000)
      setTimeout(() => {
        this.ws.terminate()
        resolve()
      }, 2000).unref()
    })
  }
}

/** Runs of one WebSocket connection at once (`--ws-streams`); user i uses connection i mod connections. */
export const webSocket = (streamsPerConnection: number): Transport => ({
  name: `WebSocket (ack=auto, up to ${streamsPerConnection} runs per connection)`,
  open: async (target, concurrency, runTimeoutMs) => {
    const count = Math.max(1, Math.ceil(concurrency / streamsPerConnection))
    const connections: Array<WsConnection> = []
    // Opened a few at a time so the setup does not look like the load being measured.
    for (let i = 0; i < count; i += 50) {
      const batch = await Promise.all(
        Array.from({ length: Math.min(50, count - i) }, () => WsConnection.open(target))
      )
      connections.push(...batch)
    }
    return {
      run: (user) => {
        const connection = connections[user % connections.length]
        return connection === undefined ? Promise.reject(new Error("no connection")) : connection.run(runTimeoutMs)
      },
      bytes: () =>
        connections.reduce((sum, connection) => {
          const bytes = connection.bytes()
          return { down: sum.down + bytes.down, up: sum.up + bytes.up }
        }, { down: 0, up: 0 }),
      close: async () => {
        // Bytes are read before close; closing frames are not part of the runs.
        await Promise.all(connections.map((connection) => connection.close()))
      }
    }
  }
})
