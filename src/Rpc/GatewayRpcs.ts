/**
 * The gateway's RPC contract, shared by the server, the typed client and (later) workers.
 * Client-safe: imports only wire types. Every RPC but `Connect` (authenticated by the upgrade; it
 * issues the session token) goes through `SessionAuth` and names the scope it needs.
 */
import * as Rpc from "@effect/rpc/Rpc"
import * as RpcGroup from "@effect/rpc/RpcGroup"
import { Schema } from "effect"
import { AgentEvent } from "../Domain/AgentEvent.js"
import { GatewayHealth } from "../Domain/Health.js"
import { RunId } from "../Domain/Ids.js"
import { LogEntry, TailLogsRequest } from "../Domain/LogEntry.js"
import { RunError, RunNotFound } from "../Domain/RunError.js"
import { StartRun } from "../Domain/RunSpec.js"
import { ClientHello, GatewayStatus, ServerInfo } from "../Domain/ServerInfo.js"
import { RequiredScope, SessionAuth } from "./SessionAuth.js"

/**
 * Starts a run and streams its events; the stream ends after `RunCompleted` or fails with a `RunError`. The gateway
 * serves it over the WebSocket itself (`Gateway/StartRunStream`), on the same frames.
 */
export const StartRunRpc = Rpc.make("StartRun", {
  payload: StartRun,
  success: AgentEvent,
  error: RunError,
  stream: true
})
  .middleware(SessionAuth)
  .annotate(RequiredScope, "runs:write")

/** Opens a session: server info and the session token for later messages. Call again to refresh the token. */
const Connect = Rpc.make("Connect", { payload: ClientHello, success: ServerInfo })

/** Cancels an active run; its stream fails with `RunCancelled`. */
const CancelRun = Rpc.make("CancelRun", { payload: { runId: RunId }, success: Schema.Void, error: RunNotFound })
  .middleware(SessionAuth)
  .annotate(RequiredScope, "runs:write")

const Status = Rpc.make("Status", { payload: {}, success: GatewayStatus })
  .middleware(SessionAuth)
  .annotate(RequiredScope, "runs:read")

/** Operators' view: provider probes, quotas and their use, recent warnings and errors, and a verdict. */
const Health = Rpc.make("Health", { payload: {}, success: GatewayHealth })
  .middleware(SessionAuth)
  .annotate(RequiredScope, "admin")

/** The gateway's recent log entries that match, then (with `follow`) new ones as they are written. */
const TailLogs = Rpc.make("TailLogs", { payload: TailLogsRequest, success: LogEntry, stream: true })
  .middleware(SessionAuth)
  .annotate(RequiredScope, "admin")

export class GatewayRpcs extends RpcGroup.make(Connect, StartRunRpc, CancelRun, Status, Health, TailLogs) {}

/** The RPCs @effect/rpc's server answers: all but `StartRun`, which the gateway serves itself. */
export class ServerRpcs extends RpcGroup.make(Connect, CancelRun, Status, Health, TailLogs) {}
