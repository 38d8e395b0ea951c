/**
 * The gateway's RPC contract, shared by the server, the typed client and (later) workers.
 * Client-safe: imports only wire types.
 */
import { Rpc, RpcGroup } from "@effect/rpc"
import { Schema } from "effect"
import { AgentEvent } from "../Domain/AgentEvent.js"
import { RunId } from "../Domain/Ids.js"
import { RunError, RunNotFound } from "../Domain/RunError.js"
import { StartRun } from "../Domain/RunSpec.js"
import { ClientHello, GatewayStatus, ServerInfo } from "../Domain/ServerInfo.js"

export class GatewayRpcs extends RpcGroup.make(
  /** Opens a session: server info and the session token for later messages. */
  Rpc.make("Connect", { payload: ClientHello, success: ServerInfo }),
  /** Starts a run and streams its events; the stream ends after `RunCompleted` or fails with a `RunError`. */
  Rpc.make("StartRun", { payload: StartRun, success: AgentEvent, error: RunError, stream: true }),
  /** Cancels an active run; its stream fails with `RunCancelled`. */
  Rpc.make("CancelRun", { payload: { runId: RunId }, success: Schema.Void, error: RunNotFound }),
  Rpc.make("Status", { payload: {}, success: GatewayStatus })
) {}
