/**
 * A `Socket.WebSocketConstructor` for Node built on `ws`, for what the platform's own cannot do:
 * send headers (`Authorization: Bearer ...`) on the upgrade request, and say why a handshake failed
 * (the HTTP status and body of a refused upgrade, the errno of a refused connection) instead of a
 * bare "error" event. `ws` sockets are not DOM WebSockets, so this adapter is one: an EventTarget
 * that re-dispatches the `ws` events as DOM-shaped events.
 */
import type * as Socket from "@effect/platform/Socket"
import type { Context } from "effect"
import type * as http from "node:http"
import { WebSocket as WsWebSocket } from "ws"

/** The DOM WebSocket type that `Socket.fromWebSocket` consumes. */
type DomWebSocket = ReturnType<Context.Tag.Service<typeof Socket.WebSocketConstructor>>

/** Why a connection could not be opened (or broke), carried by the adapter's "error" event. */
export interface HandshakeFailure {
  /** HTTP status of a refused upgrade (401, 404, 503, ...); undefined when no HTTP answer came. */
  readonly status: number | undefined
  /** The server's explanation of a refused upgrade (its JSON `message`, else the body text). */
  readonly detail: string | undefined
  /** Node's error code (`ECONNREFUSED`, `ENOTFOUND`, `ETIMEDOUT`, ...), when there is one. */
  readonly code: string | undefined
  readonly message: string
}

export class SocketErrorEvent extends Event {
  constructor(readonly failure: HandshakeFailure) {
    super("error")
  }
  get message(): string {
    return this.failure.message
  }
}

export class SocketMessageEvent extends Event {
  constructor(readonly data: string | Uint8Array) {
    super("message")
  }
}

export class SocketCloseEvent extends Event {
  readonly wasClean: boolean
  constructor(readonly code: number, readonly reason: string) {
    super("close")
    this.wasClean = code === 1000
  }
}

/** The largest refused-upgrade body read for its message. */
const maxDetailBytes = 4096

const explain = (body: string): string | undefined => {
  const text = body.trim()
  if (text === "") return undefined
  try {
    const parsed: unknown = JSON.parse(text)
    if (typeof parsed === "object" && parsed !== null && "message" in parsed && typeof parsed.message === "string") {
      return parsed.message
    }
  } catch {
    // not JSON: the text itself
  }
  return text.slice(0, 200)
}

const errnoCode = (error: Error): string | undefined =>
  "code" in error && typeof error.code === "string" ? error.code : undefined

export class HeaderWebSocket extends EventTarget implements DomWebSocket {
  static readonly CONNECTING = 0
  static readonly OPEN = 1
  static readonly CLOSING = 2
  static readonly CLOSED = 3
  readonly CONNECTING = 0
  readonly OPEN = 1
  readonly CLOSING = 2
  readonly CLOSED = 3

  binaryType: "arraybuffer" | "blob" = "arraybuffer"
  onclose: DomWebSocket["onclose"] = null
  onerror: DomWebSocket["onerror"] = null
  onmessage: DomWebSocket["onmessage"] = null
  onopen: DomWebSocket["onopen"] = null

  private readonly ws: WsWebSocket
  private refused: { status: number; detail: string | undefined } | undefined

  constructor(
    url: string,
    protocols: string | Array<string> | undefined,
    headers: Readonly<Record<string, string>>,
    tls: TlsOptions = {}
  ) {
    super()
    // wss:// verifies the gateway's certificate (Node's default); `ca` adds a private CA to trust.
    this.ws = new WsWebSocket(url, protocols ?? [], {
      headers: { ...headers },
      perMessageDeflate: false,
      ...(tls.ca === undefined ? {} : { ca: tls.ca })
    })
    this.ws.on("unexpected-response", (_request: http.ClientRequest, response: http.IncomingMessage) =>
      this.onRefused(response)
    )
    this.ws.on("open", () => this.dispatchEvent(new Event("open")))
    this.ws.on("message", (data, isBinary) => {
      const bytes = Array.isArray(data) ? Buffer.concat(data) : Buffer.isBuffer(data) ? data : Buffer.from(data)
      this.dispatchEvent(new SocketMessageEvent(isBinary ? new Uint8Array(bytes) : bytes.toString("utf8")))
    })
    this.ws.on("error", (error) => this.dispatchEvent(new SocketErrorEvent(this.failureOf(error))))
    this.ws.on("close", (code, reason) => this.dispatchEvent(new SocketCloseEvent(code, reason.toString("utf8"))))
  }

  get bufferedAmount(): number {
    return this.ws.bufferedAmount
  }
  get extensions(): string {
    return this.ws.extensions
  }
  get protocol(): string {
    return this.ws.protocol
  }
  get readyState(): number {
    return this.ws.readyState
  }
  get url(): string {
    return this.ws.url
  }

  send(data: string | ArrayBufferLike | ArrayBufferView | Blob): void {
    if (data instanceof Blob) throw new TypeError("HeaderWebSocket cannot send Blobs")
    this.ws.send(data)
  }

  close(code?: number, reason?: string): void {
    // Closing a socket that never opened would make `ws` throw; abort the handshake instead.
    if (this.ws.readyState === WsWebSocket.CONNECTING) this.ws.terminate()
    else this.ws.close(code, reason)
  }

  /** Keeps the refused upgrade's status, reads its (small) body for the reason, then aborts. */
  private onRefused(response: http.IncomingMessage): void {
    const status = response.statusCode ?? 0
    this.refused = { status, detail: undefined }
    const chunks: Array<Buffer> = []
    let size = 0
    let done = false
    const finish = () => {
      if (done) return
      done = true
      clearTimeout(timer)
      if (this.refused !== undefined) this.refused.detail = explain(Buffer.concat(chunks).toString("utf8"))
      this.ws.terminate()
    }
    const timer = setTimeout(finish, 1000)
    response.on("data", (chunk: Buffer) => {
      if (size < maxDetailBytes) chunks.push(chunk)
      size += chunk.length
    })
    response.once("end", finish)
    response.once("error", finish)
    response.once("close", finish)
  }

  private failureOf(error: Error): HandshakeFailure {
    if (this.refused !== undefined) {
      const { detail, status } = this.refused
      return {
        status,
        detail,
        code: undefined,
        message: `the gateway refused the WebSocket upgrade with HTTP ${status}` +
          (detail === undefined ? "" : `: ${detail}`)
      }
    }
    return { status: undefined, detail: undefined, code: errnoCode(error), message: error.message }
  }
}

/** TLS settings of `wss://` connections. */
export interface TlsOptions {
  /** PEM certificate(s) of a CA to trust besides the system's (a self-signed gateway's certificate). */
  readonly ca?: string | Buffer | undefined
}

/** A constructor for `Socket.WebSocketConstructor` that sends `headers` on every upgrade. */
export const headerWebSocketConstructor = (headers: Readonly<Record<string, string>>, tls: TlsOptions = {}) =>
(url: string, protocols?: string | Array<string>): DomWebSocket => new HeaderWebSocket(url, protocols, headers, tls)
