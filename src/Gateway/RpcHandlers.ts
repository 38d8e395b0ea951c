/**
 * The handlers of the RPCs @effect/rpc's server answers (`ServerRpcs`: all but `StartRun`, see `StartRunStream`):
 * thin adapters from RPC requests to the run supervisor and session tokens, together with the `SessionAuth`
 * middleware they run behind (the principal of a request comes from it).
 */
import { Clock, Context, Effect, Option } from "effect"
import { RunSupervisor } from "../Agents/RunSupervisor.js"
import * as SessionAuthLive from "../Auth/SessionAuthLive.js"
import { SessionTokens } from "../Auth/SessionTokens.js"
import { GatewayConfig } from "../Config/GatewayConfig.js"
import { ConnectionId } from "../Domain/Ids.js"
import { GatewayStatus, PoolStatus, ProtocolVersion, ServerInfo, ThreadStatus } from "../Domain/ServerInfo.js"
import { ThreadPool } from "../Pool/ThreadPool.js"
import { LogRing } from "../Telemetry/LogRing.js"
import { ServerRpcs } from "../Rpc/GatewayRpcs.js"
import { CurrentPrincipal, SessionAuth } from "../Rpc/SessionAuth.js"
import { version } from "../Version.js"
import { HealthCheck } from "./HealthCheck.js"
import { RpcWebSocket } from "./RpcWebSocket.js"

/**
 * Builds the handlers once the listener knows its address (reported by `Status`); the context also holds
 * the `SessionAuth` implementation, which `RpcServer` looks up next to the handlers.
 */
export const makeHandlers = (listen: string) =>
  Effect.zipWith(handlers(listen), SessionAuthLive.make, (context, auth) => Context.add(context, SessionAuth, auth))

const handlers = (listen: string) =>
  ServerRpcs.toHandlersContext(Effect.gen(function*() {
    const { config, file } = yield* GatewayConfig
    const supervisor = yield* RunSupervisor
    const sessions = yield* SessionTokens
    const sockets = yield* RpcWebSocket
    const pool = yield* ThreadPool
    const logs = yield* LogRing
    const health = yield* HealthCheck
    const principalOf = (clientId: number) => sockets.connection(clientId)?.principal.name ?? "anonymous"
    const startedAt = yield* Clock.currentTimeMillis

    return ServerRpcs.of({
      Connect: (_hello, { clientId }) =>
        Effect.gen(function*() {
          const principal = principalOf(clientId)
          const session = yield* sessions.issue({ sid: String(clientId), sub: principal })
          return new ServerInfo({
            name: "openclaw-gateway",
            version,
            protocolVersion: ProtocolVersion,
            connectionId: ConnectionId.make(String(clientId)),
            sessionToken: session.token,
            sessionExpiresAt: session.expiresAt,
            allowedAgents: config.acp.allowedAgents,
            defaultAgent: config.acp.defaultAgent,
            serverTime: yield* Clock.currentTimeMillis
          })
        }),
      TailLogs: (request) => logs.tail(request),
      Health: () => health.check,
      CancelRun: ({ runId }) =>
        Effect.flatMap(CurrentPrincipal, ({ name }) => supervisor.cancel(runId, { principal: name })),
      Status: () =>
        Effect.gen(function*() {
          const snapshot = yield* supervisor.snapshot
          const threads = yield* pool.stats
          return new GatewayStatus({
            version,
            protocolVersion: ProtocolVersion,
            pid: process.pid,
            uptimeMs: (yield* Clock.currentTimeMillis) - startedAt,
            listen,
            configFile: Option.getOrNull(file),
            connections: yield* sockets.connectionCount,
            runs: snapshot.runs,
            runsCompleted: snapshot.completed,
            runsFailed: snapshot.failed,
            pool: new PoolStatus({ ...threads, threads: threads.threads.map((thread) => new ThreadStatus(thread)) })
          })
        })
    })
  }))
