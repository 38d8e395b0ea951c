/**
 * The typed client of the gateway for other Effect programs (and the `openclaw` CLI): `GatewayRpcs`
 * over one WebSocket with the Bearer token on the upgrade, the session JWT from `Connect` in the
 * headers of every later request (refreshed by calling `Connect` again before it expires), a
 * keep-alive ping at the configured interval, and connection failures told apart
 * (`GatewayUnreachable`, `TokenRejected`, `GatewayConnectionError`) instead of the RPC client's
 * generic protocol error.
 */
import * as Socket from "@effect/platform/Socket"
import * as RpcClient from "@effect/rpc/RpcClient"
import * as RpcSerialization from "@effect/rpc/RpcSerialization"
import { RpcClientError } from "@effect/rpc/RpcClientError"
import { Clock, Config, Context, Duration, Effect, Layer, Option, Redacted, Ref, Schema, Stream } from "effect"
import { defaultTokenFile, readTokenFile } from "../Auth/TokenFile.js"
import type { AgentEvent } from "../Domain/AgentEvent.js"
import { type Forbidden, Unauthorized } from "../Domain/AuthError.js"
import type { GatewayHealth } from "../Domain/Health.js"
import type { RunId } from "../Domain/Ids.js"
import { type LogEntry, TailLogsRequest } from "../Domain/LogEntry.js"
import type { RunError, RunNotFound } from "../Domain/RunError.js"
import type { StartRun } from "../Domain/RunSpec.js"
import { type GatewayStatus, ProtocolVersion, type ServerInfo } from "../Domain/ServerInfo.js"
import { GatewayRpcs } from "../Rpc/GatewayRpcs.js"
import { headerWebSocketConstructor, SocketErrorEvent } from "./HeaderWebSocket.js"

/** Where the gateway listens when neither the options nor `OPENCLAW_GATEWAY_URL` say. */
export const DefaultGatewayUrl = "ws://127.0.0.1:18789"

// ---------------------------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------------------------

/** Nothing answered at the URL (connection refused, unknown host, timeout) or the gateway is shutting down. */
export class GatewayUnreachable extends Schema.TaggedError<GatewayUnreachable>()("GatewayUnreachable", {
  url: Schema.String,
  reason: Schema.String
}) {
  override get message() {
    return `cannot reach the openclaw gateway at ${this.url} (${this.reason}): ` +
      "start it with `openclaw gateway` (or `npm start`), or point OPENCLAW_GATEWAY_URL / --url at it"
  }
}

/** The gateway answered the upgrade with 401/403: the token is missing, wrong or from another gateway. */
export class TokenRejected extends Schema.TaggedError<TokenRejected>()("TokenRejected", {
  url: Schema.String,
  status: Schema.Int,
  /** The gateway's explanation, e.g. "invalid bearer token". */
  reason: Schema.String,
  /** Where the presented token came from, to say what to fix. */
  tokenSource: Schema.String
}) {
  override get message() {
    return `the gateway at ${this.url} refused the token (HTTP ${this.status}: ${this.reason}; token from ` +
      `${this.tokenSource}): pass --token, set OPENCLAW_GATEWAY_TOKEN, or check the gateway's token file`
  }
}

/** The connection opened but broke, or the gateway answered the upgrade with something unexpected. */
export class GatewayConnectionError extends Schema.TaggedError<GatewayConnectionError>()("GatewayConnectionError", {
  url: Schema.String,
  reason: Schema.String
}) {
  override get message() {
    return `connection to the gateway at ${this.url} failed: ${this.reason}`
  }
}

/** The client's own settings are unusable: a URL that is not ws(s)://, an unreadable token file. */
export class GatewayClientConfigError extends Schema.TaggedError<GatewayClientConfigError>()(
  "GatewayClientConfigError",
  { reason: Schema.String }
) {
  override get message() {
    return this.reason
  }
}

export type GatewayClientError = GatewayUnreachable | TokenRejected | GatewayConnectionError

/** A request refused by message auth or for lack of a scope (after one transparent retry with a new session). */
export type SessionError = Unauthorized | Forbidden

// ---------------------------------------------------------------------------------------------
// Service
// ---------------------------------------------------------------------------------------------

export interface GatewayClientOptions {
  /** `ws://` or `wss://` URL; default `$OPENCLAW_GATEWAY_URL`, else `ws://127.0.0.1:18789`. */
  readonly url?: string | undefined
  /** Bearer token; default `$OPENCLAW_GATEWAY_TOKEN`, else the token file. */
  readonly token?: string | Redacted.Redacted<string> | undefined
  /** Token file read when no token is given; default `~/.openclaw/gateway.token`. */
  readonly tokenFile?: string | undefined
  /** Interval of the RPC-level ping (`acp.codex.keepAliveInterval`); default 30 seconds. */
  readonly keepAliveInterval?: Duration.DurationInput | undefined
  /** How long opening the WebSocket may take; default 10 seconds. */
  readonly openTimeout?: Duration.DurationInput | undefined
  /** Client name sent with `Connect`, for the gateway's logs. */
  readonly clientName?: string | undefined
  /** For `wss://`: a PEM CA certificate to trust besides the system's (certificates are always verified). */
  readonly ca?: string | Buffer | undefined
}

/** What `startRun` takes: the `StartRun` payload, `mode` optional (default "thread-bound"). */
export type StartRunSpec = Exclude<ConstructorParameters<typeof StartRun>[0], void | undefined>

export interface GatewayClientService {
  readonly url: string
  /**
   * Opens the session (`Connect`) and keeps the answer for `serverInfo`; later requests carry its
   * `sessionToken`. Calls made before it connect first; the token is refreshed before it expires.
   */
  readonly connect: Effect.Effect<ServerInfo, GatewayClientError>
  /** The last `Connect` answer, if any. */
  readonly serverInfo: Effect.Effect<Option.Option<ServerInfo>>
  /** Starts a run and streams its events; interrupting the stream interrupts the request (the gateway cancels it). */
  readonly startRun: (spec: StartRunSpec) => Stream.Stream<AgentEvent, RunError | SessionError | GatewayClientError>
  readonly cancelRun: (runId: RunId) => Effect.Effect<void, RunNotFound | SessionError | GatewayClientError>
  readonly status: Effect.Effect<GatewayStatus, SessionError | GatewayClientError>
  /** Provider probes, quotas, recent errors and a verdict (needs the `admin` scope; slower than `status`). */
  readonly health: Effect.Effect<GatewayHealth, SessionError | GatewayClientError>
  /** The gateway's recent log entries (needs the `admin` scope), then with `follow` new ones until interrupted. */
  readonly tailLogs: (
    request: ConstructorParameters<typeof TailLogsRequest>[0]
  ) => Stream.Stream<LogEntry, SessionError | GatewayClientError>
}

interface ResolvedToken {
  readonly token: Option.Option<Redacted.Redacted<string>>
  /** Where it came from, for `TokenRejected`'s message. */
  readonly source: string
}

/** The gateway's URL as given: the options', else `$OPENCLAW_GATEWAY_URL`, else the default. */
export const gatewayUrlText = Effect.fnUntraced(function*(explicit: string | undefined) {
  const fromEnv = yield* Config.option(Config.string("OPENCLAW_GATEWAY_URL")).pipe(Effect.orDie)
  return explicit ?? Option.getOrElse(Option.filter(fromEnv, (value) => value !== ""), () => DefaultGatewayUrl)
})

const resolveUrl = Effect.fnUntraced(function*(explicit: string | undefined) {
  const text = yield* gatewayUrlText(explicit)
  const parsed = URL.canParse(text) ? new URL(text) : undefined
  if (parsed === undefined || (parsed.protocol !== "ws:" && parsed.protocol !== "wss:")) {
    return yield* new GatewayClientConfigError({
      reason: `invalid gateway URL ${JSON.stringify(text)}: expected ws://HOST:PORT or wss://HOST:PORT`
    })
  }
  return text
})

/** The Bearer token to present: the options', else `$OPENCLAW_GATEWAY_TOKEN`, else the token file's, if any. */
export const resolveToken = Effect.fnUntraced(function*(
  options: Pick<GatewayClientOptions, "token" | "tokenFile">
) {
  if (options.token !== undefined) {
    const token = Redacted.isRedacted(options.token) ? options.token : Redacted.make(options.token)
    return { token: Option.some(token), source: "the client options" } satisfies ResolvedToken
  }
  const fromEnv = yield* Config.option(Config.redacted("OPENCLAW_GATEWAY_TOKEN")).pipe(Effect.orDie)
  const nonEmpty = Option.filter(fromEnv, (token) => Redacted.value(token) !== "")
  if (Option.isSome(nonEmpty)) return { token: nonEmpty, source: "OPENCLAW_GATEWAY_TOKEN" } satisfies ResolvedToken
  const file = options.tokenFile ?? defaultTokenFile()
  const text = yield* readTokenFile(file).pipe(
    Effect.mapError((error) => new GatewayClientConfigError({ reason: error.message }))
  )
  return text === undefined
    ? { token: Option.none(), source: `nowhere (no token file at ${file})` } satisfies ResolvedToken
    : { token: Option.some(Redacted.make(text)), source: `the token file ${file}` } satisfies ResolvedToken
})

/** Turns the RPC client's generic protocol error into what happened to the connection. */
export const classifyClientError = (url: string, tokenSource: string) =>
(error: RpcClientError): GatewayClientError => {
  const cause = error.cause
  if (Socket.isSocketError(cause)) {
    if (cause.reason === "OpenTimeout") {
      return new GatewayUnreachable({ url, reason: "timed out opening the WebSocket" })
    }
    if (cause.reason === "Open") {
      const failure = cause.cause instanceof SocketErrorEvent ? cause.cause.failure : undefined
      const status = failure?.status
      if (status === 401 || status === 403) {
        return new TokenRejected({ url, status, reason: failure?.detail ?? "unauthorized", tokenSource })
      }
      if (status === 503) {
        return new GatewayUnreachable({ url, reason: failure?.detail ?? "the gateway is shutting down" })
      }
      if (status !== undefined) return new GatewayConnectionError({ url, reason: failure?.message ?? `HTTP ${status}` })
      return new GatewayUnreachable({ url, reason: failure?.code ?? failure?.message ?? "connection failed" })
    }
    if (cause.reason === "Close") {
      return new GatewayConnectionError({
        url,
        reason: `the connection closed (code ${cause.code}${cause.closeReason ? `: ${cause.closeReason}` : ""})`
      })
    }
    return new GatewayConnectionError({ url, reason: cause.message })
  }
  return new GatewayConnectionError({ url, reason: error.message })
}

/** How long before expiry the session token is replaced: a quarter of its lifetime, at most this. */
const refreshMarginMs = 60_000
/** How often the refresher looks at the session when there is nothing to do yet. */
const refreshPollMs = 1_000

/**
 * A refusal that a new session fixes: the socket reconnected (a new connection id), the gateway restarted,
 * or the token expired or was revoked. Not a missing token or another principal's: those are bugs.
 */
const isStaleSession = (error: unknown): error is Unauthorized =>
  error instanceof Unauthorized && error.reason !== "missing" && error.reason !== "otherPrincipal"

/** Builds the client; its WebSocket lives (and reconnects) until the scope closes. */
export const make = Effect.fnUntraced(function*(options: GatewayClientOptions = {}) {
  const url = yield* resolveUrl(options.url)
  const { source, token } = yield* resolveToken(options)
  const headers: Record<string, string> = Option.match(token, {
    onNone: () => ({}),
    onSome: (value) => ({ authorization: `Bearer ${Redacted.value(value)}` })
  })

  const socket = yield* Socket.makeWebSocket(url, { openTimeout: options.openTimeout ?? Duration.seconds(10) }).pipe(
    Effect.provideService(Socket.WebSocketConstructor, headerWebSocketConstructor(headers, { ca: options.ca }))
  )
  const protocol = yield* RpcClient.makeProtocolSocket().pipe(
    Effect.provideService(Socket.Socket, socket),
    Effect.provideService(RpcSerialization.RpcSerialization, RpcSerialization.json)
  )
  const client = yield* RpcClient.make(GatewayRpcs).pipe(Effect.provideService(RpcClient.Protocol, protocol))

  // The RPC client pings every 10 s on its own (hard-coded) and fails the socket when a Pong is
  // missing. This ping follows the configured interval; its Pongs also reach that pinger, which
  // only ever counts them as signs of life.
  const write = yield* socket.writer
  yield* write(JSON.stringify({ _tag: "Ping" })).pipe(
    Effect.delay(options.keepAliveInterval ?? Duration.seconds(30)),
    Effect.ignore,
    Effect.forever,
    Effect.interruptible,
    Effect.forkScoped
  )

  const classify = classifyClientError(url, source)
  const failClassified = (error: RpcClientError) => Effect.fail(classify(error))
  const serverInfo = yield* Ref.make(Option.none<ServerInfo>())
  /** The current session token and when (local clock) to replace it. */
  const session = yield* Ref.make(Option.none<{ readonly token: string; readonly refreshAt: number }>())
  const refreshing = yield* Effect.makeSemaphore(1)

  const connect = Effect.gen(function*() {
    const sentAt = yield* Clock.currentTimeMillis
    const info = yield* client.Connect({
      client: options.clientName ?? "openclaw-client",
      protocolVersion: ProtocolVersion
    }).pipe(Effect.catchTag("RpcClientError", failClassified))
    // Measured on the gateway's clock, so the local clock's offset does not matter.
    const lifetime = Math.max(0, info.sessionExpiresAt - info.serverTime)
    const refreshAt = sentAt + lifetime - Math.min(lifetime / 4, refreshMarginMs)
    yield* Ref.set(session, Option.some({ token: info.sessionToken, refreshAt }))
    yield* Ref.set(serverInfo, Option.some(info))
    return info
  }).pipe(refreshing.withPermits(1), Effect.withSpan("GatewayClient.connect"))

  /** The session token to send, connecting or refreshing first when there is none or it is due. */
  const currentToken = Effect.gen(function*() {
    const now = yield* Clock.currentTimeMillis
    const current = yield* Ref.get(session)
    if (Option.isSome(current) && now < current.value.refreshAt) return current.value.token
    // Another fiber may have refreshed while this one waited for the permit: `connect` is cheap anyway.
    return (yield* connect).sessionToken
  })

  const headersOf = (token: string) => ({ authorization: `Bearer ${token}` })

  /** Calls with the current token; a refusal that a new session can fix is retried once after `Connect`. */
  const authenticated = <A, E>(call: (token: string) => Effect.Effect<A, E | Unauthorized>) =>
    Effect.flatMap(currentToken, call).pipe(
      Effect.catchIf(isStaleSession, () => Effect.flatMap(connect, (info) => call(info.sessionToken)))
    )

  // Refreshes the token before it expires, so that a client idle for a while (or busy with a long
  // stream) has a valid one ready; running streams are untouched (a request is checked when it starts).
  yield* Effect.gen(function*() {
    const current = yield* Ref.get(session)
    const now = yield* Clock.currentTimeMillis
    if (Option.isNone(current)) return yield* Effect.sleep(Duration.millis(refreshPollMs))
    const wait = current.value.refreshAt - now
    if (wait > 0) return yield* Effect.sleep(Duration.millis(Math.min(wait, refreshPollMs)))
    yield* connect.pipe(Effect.catchAll(() => Effect.sleep(Duration.millis(refreshPollMs))))
  }).pipe(Effect.forever, Effect.interruptible, Effect.forkScoped)

  /** A streaming call with the current token, retried once with a new session if it was stale. */
  const authenticatedStream = <A, E>(
    call: (token: string) => Stream.Stream<A, E | Unauthorized | RpcClientError>
  ): Stream.Stream<A, E | Unauthorized | GatewayClientError> =>
    Stream.unwrap(Effect.map(currentToken, call)).pipe(
      // A refused session fails the stream before its first element, so retrying repeats nothing.
      Stream.catchAll((error) =>
        isStaleSession(error) ? Stream.unwrap(Effect.map(connect, (info) => call(info.sessionToken))) : Stream.fail(error)
      ),
      Stream.mapError((error) => (error instanceof RpcClientError ? classify(error) : error))
    )

  const startRun = (spec: StartRunSpec) =>
    authenticatedStream((token) => client.StartRun(spec, { headers: headersOf(token) }))

  return GatewayClient.of({
    url,
    connect,
    serverInfo: Ref.get(serverInfo),
    startRun,
    cancelRun: (runId) =>
      authenticated((token) =>
        client.CancelRun({ runId }, { headers: headersOf(token) }).pipe(
          Effect.catchTag("RpcClientError", failClassified)
        )
      ),
    tailLogs: (request) =>
      authenticatedStream((token) => client.TailLogs(new TailLogsRequest(request), { headers: headersOf(token) })),
    status: authenticated((token) =>
      client.Status({}, { headers: headersOf(token) }).pipe(Effect.catchTag("RpcClientError", failClassified))
    ),
    health: authenticated((token) =>
      client.Health({}, { headers: headersOf(token) }).pipe(Effect.catchTag("RpcClientError", failClassified))
    )
  })
})

export class GatewayClient extends Context.Tag("openclaw/GatewayClient")<GatewayClient, GatewayClientService>() {
  /** The client as a layer; fails only on unusable settings (the connection is opened lazily by calls). */
  static readonly layer = (options: GatewayClientOptions = {}): Layer.Layer<GatewayClient, GatewayClientConfigError> =>
    Layer.scoped(GatewayClient, make(options))
}
