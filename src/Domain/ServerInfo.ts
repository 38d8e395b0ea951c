/** What `Connect` and `Status` answer. */
import { Schema } from "effect"
import { ConnectionId } from "./Ids.js"

/** Bumped on any incompatible change of the RPC group or its payloads. */
export const ProtocolVersion = 1

export class ClientHello extends Schema.Class<ClientHello>("openclaw/ClientHello")({
  /** Free-form client name and version, for logs. */
  client: Schema.optional(Schema.String.pipe(Schema.maxLength(200))),
  /** The protocol version the client speaks; a mismatch is reported, not fatal. */
  protocolVersion: Schema.optional(Schema.Int)
}) {}

export class ServerInfo extends Schema.Class<ServerInfo>("openclaw/ServerInfo")({
  name: Schema.Literal("openclaw-gateway"),
  version: Schema.String,
  protocolVersion: Schema.Int,
  connectionId: ConnectionId,
  /** Short-lived session JWT bound to this connection; message authentication uses it. */
  sessionToken: Schema.String,
  sessionExpiresAt: Schema.Number,
  allowedAgents: Schema.Array(Schema.String),
  defaultAgent: Schema.String,
  serverTime: Schema.Number
}) {}

export class RunSummary extends Schema.Class<RunSummary>("openclaw/RunSummary")({
  runId: Schema.String,
  agent: Schema.String,
  mode: Schema.String,
  state: Schema.Literal("queued", "running"),
  startedAt: Schema.Number
}) {}

export class GatewayStatus extends Schema.Class<GatewayStatus>("openclaw/GatewayStatus")({
  version: Schema.String,
  protocolVersion: Schema.Int,
  pid: Schema.Int,
  uptimeMs: Schema.Number,
  listen: Schema.String,
  configFile: Schema.NullOr(Schema.String),
  connections: Schema.Int,
  runs: Schema.Array(RunSummary),
  runsCompleted: Schema.Int,
  runsFailed: Schema.Int
}) {}
