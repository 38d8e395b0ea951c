/**
 * The listener: one Node HTTP server that answers plain HTTP (`GET /healthz`, the HTTP mode of runs) through an
 * Effect HttpRouter and upgrades `/` to the RPC WebSocket after checking the Bearer token (401 before any
 * upgrade). Owns graceful shutdown: stop accepting, let runs finish within the grace period, cancel
 * the rest, then close sockets with 1001.
 */
import * as HttpMiddleware from "@effect/platform/HttpMiddleware"
import * as HttpRouter from "@effect/platform/HttpRouter"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import * as NodeHttpServer from "@effect/platform-node/NodeHttpServer"
import * as RpcServer from "@effect/rpc/RpcServer"
import { Effect, Exit, Runtime, Schedule } from "effect"
import * as fs from "node:fs"
import * as http from "node:http"
import * as https from "node:https"
import type { Duplex } from "node:stream"
import { WebSocketServer } from "ws"
import { RunSupervisor } from "../Agents/RunSupervisor.js"
import { SubprotocolName } from "../Auth/BearerToken.js"
import { GatewayAuth, GatewayStartupError } from "../Auth/GatewayAuth.js"
import { SessionTokens } from "../Auth/SessionTokens.js"
import { GatewayConfig } from "../Config/GatewayConfig.js"
import { ServerRpcs } from "../Rpc/GatewayRpcs.js"
import * as MetricsSampler from "../Telemetry/MetricsSampler.js"
import { version } from "../Version.js"
import * as ChatCompletions from "./ChatCompletions.js"
import { HealthCheck } from "./HealthCheck.js"
import { HttpGuard } from "./HttpGuard.js"
import * as HttpRuns from "./HttpRuns.js"
import * as MetricsRoute from "./MetricsRoute.js"
import { makeHandlers } from "./RpcHandlers.js"
import { CloseCode, RpcWebSocket } from "./RpcWebSocket.js"
import * as StartRunStream from "./StartRunStream.js"

export interface ListenAddress {
  readonly host: string
  readonly port: number
}

/**
 * Connections the kernel may hold for the gateway to accept (Linux caps it at net.core.somaxconn). Node's default of
 * 511 overflowed when 2,000 HTTP clients connected at once while the gateway was busy, and the overflow surfaced as
 * ECONNRESET in the clients (the transport bench at 2,000 concurrent runs: 206 and 419 resets; none with 4096).
 */
const listenBacklog = 4096

/** How long shutdown lets each transport write the cancelled runs' last answers to slow readers before cutting them. */
const answerDrainMs = 2000

/** Answers an upgrade request without upgrading it. */
const refuseUpgrade = (socket: Duplex, status: number, message: string, extraHeaders: ReadonlyArray<string> = []) => {
  const body = JSON.stringify({ error: http.STATUS_CODES[status], message })
  socket.end(
    [
      `HTTP/1.1 ${status} ${http.STATUS_CODES[status]}`,
      "Content-Type: application/json",
      `Content-Length: ${Buffer.byteLength(body)}`,
      "Connection: close",
      ...extraHeaders,
      "",
      body
    ].join("\r\n")
  )
}

const httpApp = HttpRuns.routes.pipe(
  HttpRouter.concat(ChatCompletions.routes),
  HttpRouter.concat(MetricsRoute.routes),
  HttpRouter.get("/healthz", HttpServerResponse.json({ status: "ok", version })),
  HttpRouter.get(
    "/",
    HttpServerResponse.json({ error: "Upgrade Required", message: "connect with a WebSocket client to this URL" }, {
      status: 426,
      headers: { upgrade: "websocket" }
    })
  )
)

export class GatewayServer extends Effect.Service<GatewayServer>()("openclaw/GatewayServer", {
  scoped: Effect.gen(function*() {
    const { config } = yield* GatewayConfig
    const auth = yield* GatewayAuth
    const sockets = yield* RpcWebSocket
    const supervisor = yield* RunSupervisor
    const runtime = yield* Effect.runtime<never>()
    const runSync = Runtime.runSync(runtime)
    const runCallback = Runtime.runCallback(runtime)
    let closing = false

    const limits = config.security.websocket
    const tls = config.gateway.tls
    const server = tls === undefined
      ? http.createServer({ headersTimeout: limits.handshakeTimeoutMs })
      : https.createServer({
        headersTimeout: limits.handshakeTimeoutMs,
        ...(yield* Effect.try({
          try: () => ({ cert: fs.readFileSync(tls.cert), key: fs.readFileSync(tls.key) }),
          catch: (error) =>
            new GatewayStartupError({
              reason: `cannot read gateway.tls: ${error instanceof Error ? error.message : String(error)}`
            })
        }))
      })
    const scheme = tls === undefined ? "ws" : "wss"
    // A new connection must send its first request (an upgrade included) within the handshake timeout: Node's own
    // header timeout only starts with the first byte, so a client that connects and says nothing is cut here.
    const silentDeadlines = new WeakMap<Duplex, ReturnType<typeof setTimeout>>()
    const spoke = (socket: Duplex) => {
      clearTimeout(silentDeadlines.get(socket))
      silentDeadlines.delete(socket)
    }
    server.on("connection", (socket: Duplex) => {
      const deadline = setTimeout(() => socket.destroy(), limits.handshakeTimeoutMs)
      deadline.unref()
      silentDeadlines.set(socket, deadline)
      socket.once("close", () => spoke(socket))
    })
    server.on("request", (request: http.IncomingMessage) => spoke(request.socket))
    const allowedOrigins: ReadonlySet<string> = new Set(limits.allowedOrigins)
    const wss = new WebSocketServer({
      noServer: true,
      maxPayload: config.acp.codex.maxMessageSize,
      // Compression multiplies memory per connection and invites decompression bombs: off.
      perMessageDeflate: false,
      clientTracking: false,
      handleProtocols: (offered) => (offered.has(SubprotocolName) ? SubprotocolName : false)
    })

    yield* Effect.async<void, GatewayStartupError>((resume) => {
      const onError = (error: NodeJS.ErrnoException) =>
        resume(
          new GatewayStartupError({
            reason: error.code === "EADDRINUSE"
              ? `${config.gateway.bind}:${config.gateway.port} is already in use: is another gateway running? ` +
                "(try `openclaw status`, or set gateway.port / --port)"
              : `cannot listen on ${config.gateway.bind}:${config.gateway.port}: ${error.message}`
          })
        )
      server.once("error", onError)
      server.listen({ port: config.gateway.port, host: config.gateway.bind, backlog: listenBacklog }, () => {
        server.off("error", onError)
        resume(Effect.void)
      })
    })
    // HTTP answers still being written (a cancelled run's last SSE frame, behind a slow reader) may finish; idle
    // keep-alive connections close at once, and whatever is still open after answerDrainMs is cut.
    yield* Effect.addFinalizer(() =>
      Effect.async<void>((resume) => {
        const cut = setTimeout(() => server.closeAllConnections(), answerDrainMs)
        server.close(() => {
          clearTimeout(cut)
          resume(Effect.void)
        })
        server.closeIdleConnections()
      })
    )
    const bound = server.address()
    const address: ListenAddress = typeof bound === "object" && bound !== null
      ? { host: bound.address, port: bound.port }
      : { host: config.gateway.bind, port: config.gateway.port }
    const hostForUrl = address.host.includes(":") ? `[${address.host}]` : address.host

    const handlers = yield* makeHandlers(`${hostForUrl}:${address.port}`)
    if (config.telemetry.otlp !== undefined || config.telemetry.prometheus) yield* MetricsSampler.start(1000)
    yield* sockets.serveDirectly("StartRun", yield* StartRunStream.make)
    yield* RpcServer.make(ServerRpcs).pipe(
      Effect.provide(handlers),
      Effect.provideService(RpcServer.Protocol, sockets.protocol),
      Effect.interruptible,
      Effect.forkScoped
    )

    // A page on a listed origin may call the HTTP API (its preflight answered, the run id and Retry-After readable);
    // any other origin gets no CORS headers, and the guard refuses its requests.
    const cors = HttpMiddleware.cors({
      allowedOrigins: (origin) => allowedOrigins.has(origin),
      allowedMethods: ["GET", "POST", "DELETE"],
      allowedHeaders: ["authorization", "content-type", "accept", "last-event-id"],
      exposedHeaders: ["x-openclaw-run-id", "retry-after"],
      maxAge: 600
    })
    server.on("request", yield* NodeHttpServer.makeHandler(cors(httpApp)))
    server.on("upgrade", (request: http.IncomingMessage, socket: Duplex, head: Buffer) => {
      spoke(socket)
      socket.on("error", () => socket.destroy())
      if (closing) return refuseUpgrade(socket, 503, "the gateway is shutting down")
      const url = new URL(request.url ?? "/", "http://gateway")
      if (url.pathname !== "/") {
        return refuseUpgrade(socket, 404, `no WebSocket endpoint at ${url.pathname}; connect to /`)
      }
      // Browsers always send Origin: only listed origins may open the socket (cross-site WebSocket hijacking).
      const origin = request.headers.origin
      if (origin !== undefined && !allowedOrigins.has(origin)) {
        return refuseUpgrade(socket, 403, `origin ${origin} is not in security.websocket.allowedOrigins`)
      }
      // Asynchronous only for an external issuer's JWT (its key set may be fetched); a gateway token answers at once.
      runCallback(auth.checkHandshake(request.headers), {
        onExit: (exit) => {
          if (socket.destroyed) return
          if (closing) return refuseUpgrade(socket, 503, "the gateway is shutting down")
          if (Exit.isFailure(exit)) return refuseUpgrade(socket, 500, "the handshake check failed")
          const verdict = exit.value
          if (verdict._tag === "Rejected") {
            return refuseUpgrade(socket, 401, verdict.reason, ["WWW-Authenticate: Bearer realm=\"openclaw\""])
          }
          wss.handleUpgrade(request, socket, head, (ws) => {
            runSync(sockets.accept(ws, socket, {
              principal: verdict.principal,
              remoteAddress: request.socket.remoteAddress ?? "unknown",
              autoAck: url.searchParams.get("ack") === "auto"
            }))
          })
        }
      })
    })

    yield* Effect.logInfo(`openclaw gateway ${version} listening on ${scheme}://${hostForUrl}:${address.port}`)

    // Graceful shutdown, first of this service's finalizers to run (added last).
    yield* Effect.addFinalizer(() =>
      Effect.gen(function*() {
        closing = true
        yield* Effect.logInfo("shutting down: no new connections, waiting for runs")
        yield* supervisor.shutdown(config.gateway.shutdownGraceMs)
        // Let the handlers write the cancelled runs' final answers before the sockets close.
        yield* sockets.idle.pipe(
          Effect.repeat({ schedule: Schedule.spaced("10 millis"), until: (idle) => idle }),
          Effect.interruptible,
          Effect.timeoutOption(answerDrainMs)
        )
        yield* sockets.closeAll(CloseCode.goingAway, "gateway shutting down")
      })
    )

    return { address, url: `${scheme}://${hostForUrl}:${address.port}` } as const
  }),
  dependencies: [
    RpcWebSocket.Default,
    GatewayAuth.Default,
    SessionTokens.Default,
    HttpGuard.Default,
    HealthCheck.Default
  ]
}) {}
