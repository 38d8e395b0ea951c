/**
 * The @effect/rpc server protocol over `ws` connections, owned by us rather than taken from
 * `RpcServer.layerProtocolWebsocket` so that the gateway decides what the library cannot:
 * every inbound frame is validated (ClientFrame), messages of one connection are handled in order,
 * upgrade headers are NOT merged into message headers, dead peers are dropped by heartbeat, and
 * shutdown closes sockets with 1001. Requests the gateway serves itself (`serveDirectly`: StartRun) are routed to
 * their handlers here, with their Acks and Interrupts; the others go to the RPC server.
 */
import * as RpcServer from "@effect/rpc/RpcServer"
import type { FromClientEncoded, FromServerEncoded, ResponseExitEncoded } from "@effect/rpc/RpcMessage"
import {
  Clock,
  Effect,
  Exit,
  type Fiber,
  FiberId,
  FiberSet,
  Mailbox,
  Runtime,
  Schedule,
  type Tracer
} from "effect"
import type { NonEmptyReadonlyArray } from "effect/Array"
import type { Duplex } from "node:stream"
import type { WebSocket } from "ws"
import type { Principal } from "../Auth/GatewayAuth.js"
import { SessionTokens } from "../Auth/SessionTokens.js"
import { GatewayConfig } from "../Config/GatewayConfig.js"
import { GatewayRpcs } from "../Rpc/GatewayRpcs.js"
import { type ParsedFrame, parseMessage } from "./ClientFrame.js"

export interface ConnectionInfo {
  readonly id: number
  readonly principal: Principal
  readonly remoteAddress: string
  readonly connectedAt: number
  /**
   * `?ack=auto` on the URL: the gateway acknowledges each Chunk itself, for hand-driven clients such as wscat: at
   * once while the socket's send buffer is under its high-water mark, otherwise once the Chunk is written.
   * Backpressure then comes from TCP instead of Acks.
   */
  readonly autoAck: boolean
}

/** A request the gateway serves itself (see `serveDirectly`), as its handler sees it. */
export interface DirectRequest {
  readonly clientId: number
  readonly request: Extract<FromClientEncoded, { readonly _tag: "Request" }>
  /**
   * Sends a Chunk of encoded values. `delivered` is called once, when the client may be sent the next one: on its Ack,
   * or with `?ack=auto` at once (under the socket's high-water mark) or once the Chunk is written.
   */
  readonly sendChunk: (values: NonEmptyReadonlyArray<unknown>, delivered: () => void) => void
  /** Sends the request's encoded Exit, its last frame: the request id is free again. */
  readonly sendExit: (exit: ResponseExitEncoded["exit"]) => void
}

/** Serves one request in its own fiber, which ends with the request; an Interrupt frame or the close interrupts it. */
export type DirectHandler = (request: DirectRequest) => Effect.Effect<void>

/** A request served directly: its fiber, and the delivery its last Chunk waits for (the client's Ack). */
interface DirectEntry {
  /** Set as soon as it is forked: the fiber may run its first steps (even to its end) within the fork. */
  fiber: Fiber.RuntimeFiber<void> | undefined
  awaitingAck: (() => void) | undefined
}

interface Connection {
  readonly info: ConnectionInfo
  readonly ws: WebSocket
  /** The upgraded socket under `ws`: corked while a turn of the event loop sends frames (see `sendRaw`). */
  readonly socket: Duplex
  corked: boolean
  /** `?ack=auto` deliveries waiting for the socket's buffer to drain (see `sendRaw`). */
  readonly awaitingDrain: Array<() => void>
  /** Messages not yet handled, in order (see `nextMessages`). */
  readonly inbox: Array<string>
  /** Resumes the inbox fiber while it waits for a message. */
  wakeInbox: (() => void) | undefined
  /** Request ids with a response still to come: a second request with the same id is refused. */
  readonly active: Set<string>
  /** The requests of `active` served directly rather than by the RPC server. */
  readonly direct: Map<string, DirectEntry>
  missedPongs: number
  windowStart: number
  messagesInWindow: number
  closing: boolean
  /** The connection's span, from the upgrade to the close (its requests have their own RPC spans). */
  readonly span: Tracer.Span
}

/** Ends the connection's span once, with the close code. */
const endSpan = (connection: Connection, code: number, at: bigint) => {
  if (connection.span.status._tag === "Ended") return
  connection.span.attribute("closeCode", code)
  connection.span.end(at, Exit.void)
}

/** Close codes the gateway uses. */
export const CloseCode = {
  goingAway: 1001,
  unsupportedData: 1003,
  policyViolation: 1008,
  tryAgainLater: 1013
} as const

const protocolError = (message: string) => ({ _tag: "ProtocolError", name: "ProtocolError", message })

/** `Effect.forEach` in order, without its loop's steps for the usual lone item (a message, a frame). */
const eachInOrder = <A>(items: ReadonlyArray<A>, f: (item: A) => Effect.Effect<void>): Effect.Effect<void> => {
  const only = items.length === 1 ? items[0] : undefined
  return only !== undefined ? f(only) : Effect.forEach(items, f, { discard: true })
}

export class RpcWebSocket extends Effect.Service<RpcWebSocket>()("openclaw/RpcWebSocket", {
  scoped: Effect.gen(function*() {
    const { config } = yield* GatewayConfig
    const sessions = yield* SessionTokens
    const limits = config.security.websocket
    const knownTags: ReadonlySet<string> = new Set(GatewayRpcs.requests.keys())
    const connections = new Map<number, Connection>()
    const disconnects = yield* Mailbox.make<number>()
    const runFork = yield* FiberSet.makeRuntime<never>()
    const runSyncExit = Runtime.runSyncExit(yield* Effect.runtime<never>())
    let nextId = 0
    let writeRequest: (clientId: number, message: FromClientEncoded) => Effect.Effect<void> = () => Effect.void
    const directHandlers = new Map<string, DirectHandler>()

    /** Closes with `code`; a peer that does not complete the closing handshake is cut after a second. */
    const closeWith = (connection: Connection, code: number, reason: string) => {
      if (connection.closing) return
      connection.closing = true
      connection.ws.close(code, reason)
      setTimeout(() => connection.ws.terminate(), 1000).unref()
    }

    const sendRaw = (
      connection: Connection,
      message: FromServerEncoded | ReturnType<typeof defectFrame>,
      acknowledge?: () => void
    ) => {
      if (connection.ws.readyState !== connection.ws.OPEN) return
      let text: string
      try {
        text = JSON.stringify(message)
      } catch (cause) {
        text = JSON.stringify(defectFrame(`cannot encode response: ${String(cause)}`))
      }
      if (connection.ws.bufferedAmount > limits.maxBufferedBytes) {
        // The client does not read: disconnect it rather than grow the gateway's memory.
        closeWith(connection, CloseCode.policyViolation, "slow consumer: outbound buffer full")
        return
      }
      // The frames a turn of the event loop sends (tokens of the connection's runs that came due together) leave in
      // one write, one syscall, rather than one each: a few microseconds later, in the same turn's check phase.
      if (!connection.corked) {
        connection.corked = true
        connection.socket.cork()
        setImmediate(() => {
          connection.corked = false
          connection.socket.uncork()
        })
      }
      connection.ws.send(text)
      if (acknowledge === undefined) return
      // An acknowledged frame counts as delivered at once while the socket's buffer is under its high-water mark; past
      // it, once the buffer has drained, so a reader that falls behind holds its streams back (TCP is the
      // backpressure) and a fast one does not wait a write per Chunk. One drain listener per connection, not a write
      // callback per frame: those cost a closure and a callback per token.
      if (!connection.socket.writableNeedDrain) return acknowledge()
      connection.awaitingDrain.push(acknowledge)
      if (connection.awaitingDrain.length === 1) {
        connection.socket.once("drain", () => {
          for (const delivered of connection.awaitingDrain.splice(0)) delivered()
        })
      }
    }

    const defectFrame = (message: string) => ({ _tag: "Defect", defect: protocolError(message) }) as const
    const requestFailure = (requestId: string, message: string) => ({
      _tag: "Exit",
      requestId,
      exit: { _tag: "Failure", cause: { _tag: "Die", defect: protocolError(message) } }
    }) as const

    const protocol = yield* RpcServer.Protocol.make((write) => {
      writeRequest = write
      return Effect.succeed({
        disconnects,
        send: (clientId: number, response: FromServerEncoded) =>
          Effect.sync(() => {
            const connection = connections.get(clientId)
            if (connection === undefined) return
            if (response._tag === "Exit") connection.active.delete(response.requestId)
            const requestId = response._tag === "Chunk" && connection.info.autoAck ? response.requestId : undefined
            sendRaw(
              connection,
              response,
              // Run in place: an Ack only opens the stream's latch, so the stream's fiber finds it open and goes on,
              // where a fiber forked per Chunk, and the stream's wait for it, were two fiber hops per token.
              requestId === undefined ? undefined : () => {
                runSyncExit(writeRequest(clientId, { _tag: "Ack", requestId }))
              }
            )
          }),
        end: () => Effect.void,
        clientIds: Effect.sync(() => new Set(connections.keys())),
        initialMessage: Effect.succeedNone,
        supportsAck: true,
        supportsTransferables: false,
        supportsSpanPropagation: true
      })
    })

    /** Forks the handler of a request served directly; the request is already in `active`. */
    const serveDirect = (
      connection: Connection,
      request: DirectRequest["request"],
      handler: DirectHandler
    ) => {
      const requestId = request.id
      const autoAck = connection.info.autoAck
      const entry: DirectEntry = { fiber: undefined, awaitingAck: undefined }
      let exited = false
      const release = () => {
        if (connection.direct.get(requestId) === entry) connection.direct.delete(requestId)
        if (!exited) connection.active.delete(requestId)
        exited = true
      }
      connection.direct.set(requestId, entry)
      const fiber = runFork(handler({
        clientId: connection.info.id,
        request,
        sendChunk: (values, delivered) => {
          const frame = { _tag: "Chunk", requestId, values } as const
          if (autoAck) return sendRaw(connection, frame, delivered)
          entry.awaitingAck = delivered
          sendRaw(connection, frame)
        },
        sendExit: (exit) => {
          if (exited) return
          release()
          sendRaw(connection, { _tag: "Exit", requestId, exit })
        }
      }))
      entry.fiber = fiber
      fiber.addObserver(release)
    }

    /**
     * The messages that arrived since the inbox fiber last looked, in order; waits while there are none. Not a Queue:
     * its `take` makes a Deferred per wait, ~3 µs here (Effect copies its whole prototype into each), per message.
     * No canceler: an interrupted wait's wake-up, if one comes, resumes nothing (Effect ignores it).
     */
    const nextMessages = (connection: Connection) =>
      Effect.async<Array<string>>((resume) => {
        if (connection.inbox.length > 0) return resume(Effect.succeed(connection.inbox.splice(0)))
        connection.wakeInbox = () => {
          connection.wakeInbox = undefined
          resume(Effect.succeed(connection.inbox.splice(0)))
        }
      })

    /** Handles one text message of a connection (a frame, or a batch of them); runs in its inbox fiber. */
    const handleMessage = (connection: Connection, text: string): Effect.Effect<void> =>
      eachInOrder(parseMessage(text, knownTags), (parsed) => handleFrame(connection, parsed))

    const handleFrame = (connection: Connection, parsed: ParsedFrame): Effect.Effect<void> => {
      if (parsed._tag === "Invalid") {
        return Effect.sync(() =>
          parsed.requestId !== undefined && !connection.active.has(parsed.requestId)
            ? sendRaw(connection, requestFailure(parsed.requestId, parsed.message))
            : sendRaw(connection, defectFrame(parsed.message))
        )
      }
      const frame = parsed.frame
      if (frame._tag === "Ping") {
        return Effect.sync(() => sendRaw(connection, { _tag: "Pong" }))
      }
      if (frame._tag === "Request") {
        if (connection.active.has(frame.id)) {
          return Effect.sync(() => sendRaw(connection, defectFrame(`request id ${frame.id} is already in use`)))
        }
        if (connection.active.size >= limits.maxStreamsPerConnection) {
          return Effect.sync(() =>
            sendRaw(
              connection,
              requestFailure(
                frame.id,
                "too many requests in flight on this connection " +
                  `(security.websocket.maxStreamsPerConnection: ${limits.maxStreamsPerConnection})`
              )
            )
          )
        }
        connection.active.add(frame.id)
        const direct = directHandlers.get(frame.tag)
        if (direct !== undefined) return Effect.sync(() => serveDirect(connection, frame, direct))
      } else if (frame._tag === "Ack" || frame._tag === "Interrupt") {
        const entry = connection.direct.get(frame.requestId)
        if (entry !== undefined) {
          return Effect.sync(() => {
            if (frame._tag === "Interrupt") return entry.fiber?.unsafeInterruptAsFork(FiberId.none)
            const delivered = entry.awaitingAck
            entry.awaitingAck = undefined
            delivered?.()
          })
        }
      }
      return writeRequest(connection.info.id, frame)
    }

    /** Takes over an upgraded socket until it closes. */
    const accept = (
      ws: WebSocket,
      socket: Duplex,
      options: { readonly principal: Principal; readonly remoteAddress: string; readonly autoAck: boolean }
    ): Effect.Effect<ConnectionInfo> =>
      // Synchronous (run with runSync in the upgrade callback) so no message can arrive before the listeners.
      Effect.gen(function*() {
        const info: ConnectionInfo = { id: nextId++, ...options, connectedAt: yield* Clock.currentTimeMillis }
        const connection: Connection = {
          span: yield* Effect.makeSpan("RpcWebSocket.connection", {
            attributes: { connectionId: info.id, principal: options.principal.name, remoteAddress: options.remoteAddress }
          }),
          info,
          ws,
          socket,
          corked: false,
          awaitingDrain: [],
          inbox: [],
          wakeInbox: undefined,
          active: new Set(),
          direct: new Map(),
          missedPongs: 0,
          windowStart: 0,
          messagesInWindow: 0,
          closing: false
        }
        connections.set(info.id, connection)
        const ofPrincipal = [...connections.values()].filter((other) =>
          other.info.principal.name === options.principal.name
        )
        if (connections.size > limits.maxConnections) {
          closeWith(connection, CloseCode.tryAgainLater, "too many connections")
        } else if (ofPrincipal.length > limits.maxConnectionsPerPrincipal) {
          closeWith(connection, CloseCode.tryAgainLater, "too many connections for this token")
        }
        const inboxFiber = runFork(
          Effect.forever(Effect.flatMap(nextMessages(connection), (texts) =>
            eachInOrder(texts, (text) => handleMessage(connection, text))))
        )
        ws.on("message", (data, isBinary) => {
          if (connection.closing) return
          // Inbound rate: a fixed one-second window; a flood closes the connection (its runs are cancelled).
          const now = Date.now()
          if (now - connection.windowStart >= 1000) {
            connection.windowStart = now
            connection.messagesInWindow = 0
          }
          if (++connection.messagesInWindow > limits.maxMessagesPerSecond) {
            closeWith(connection, CloseCode.policyViolation, "message rate exceeded")
            return
          }
          if (isBinary) {
            sendRaw(connection, defectFrame("binary frames are not supported: send JSON text frames"))
            return
          }
          connection.inbox.push(data.toString())
          connection.wakeInbox?.()
        })
        ws.on("pong", () => {
          connection.missedPongs = 0
        })
        // Errors (oversize frame, invalid UTF-8) are answered by ws with a close frame; 'close' follows.
        ws.on("error", (error) => {
          runFork(Effect.logDebug(`connection ${info.id}: ${error.message}`))
        })
        ws.on("close", (code) => {
          connections.delete(info.id)
          for (const entry of connection.direct.values()) entry.fiber?.unsafeInterruptAsFork(FiberId.none)
          runFork(
            Effect.gen(function*() {
              yield* Effect.logDebug(`connection ${info.id} closed (${code})`)
              endSpan(connection, code, yield* Clock.currentTimeNanos)
              yield* inboxFiber.interruptAsFork(inboxFiber.id())
              connection.inbox.length = 0
              // The connection's session tokens die with it.
              yield* sessions.revokeConnection(String(info.id))
              yield* disconnects.offer(info.id)
            })
          )
        })
        return info
      })

    // Heartbeat: a peer that misses two pongs in a row is terminated; its runs are interrupted.
    yield* Effect.sync(() => {
      for (const connection of connections.values()) {
        if (connection.missedPongs >= 2) {
          connection.ws.terminate()
          continue
        }
        connection.missedPongs++
        connection.ws.ping()
      }
    }).pipe(
      Effect.repeat(Schedule.spaced(config.security.websocket.heartbeatInterval)),
      Effect.forkScoped
    )

    const closeAll = (code: number, reason: string) =>
      Effect.sync(() => {
        for (const connection of connections.values()) connection.ws.close(code, reason)
      })

    yield* Effect.addFinalizer(() =>
      Effect.zipRight(
        closeAll(CloseCode.goingAway, "gateway shutting down"),
        // Their close events may come after the exporter is gone: the spans end now.
        Effect.flatMap(Clock.currentTimeNanos, (at) =>
          Effect.sync(() => {
            for (const connection of connections.values()) endSpan(connection, CloseCode.goingAway, at)
          }))
      )
    )

    return {
      protocol,
      accept,
      /**
       * Serves the requests tagged `tag` with `handler` instead of the RPC server: the gateway's hot path (StartRun),
       * where the RPC server's generic stream loop cost a fiber wake-up per Chunk. The frames are the same.
       */
      serveDirectly: (tag: string, handler: DirectHandler) =>
        Effect.acquireRelease(
          Effect.sync(() => directHandlers.set(tag, handler)),
          () => Effect.sync(() => directHandlers.delete(tag))
        ),
      connection: (id: number): ConnectionInfo | undefined => connections.get(id)?.info,
      connectionCount: Effect.sync(() => connections.size),
      /** True when no connection has a request still waiting for its response. */
      idle: Effect.sync(() => [...connections.values()].every((connection) => connection.active.size === 0)),
      closeAll
    } as const
  }),
  dependencies: [SessionTokens.Default]
}) {}
