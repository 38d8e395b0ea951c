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

export class ThreadStatus extends Schema.Class<ThreadStatus>("openclaw/ThreadStatus")({
  id: Schema.Int,
  status: Schema.Literal("starting", "idle", "busy", "stopping"),
  runId: Schema.NullOr(Schema.String),
  ageMs: Schema.Number,
  /** Last heap use the thread reported (0 before its first report). */
  heapUsedBytes: Schema.Number,
  /** Event-loop utilisation since the thread started, 0..1. */
  utilization: Schema.Number,
  /** Event-loop active time of the current run, in ms (what the CPU quota counts). */
  runCpuMs: Schema.Number
}) {}

export class PoolStatus extends Schema.Class<PoolStatus>("openclaw/PoolStatus")({
  maxThreads: Schema.Int,
  minThreads: Schema.Int,
  queueSize: Schema.Int,
  threads: Schema.Array(ThreadStatus),
  /** Run ids waiting for a thread, first in line first. */
  queued: Schema.Array(Schema.String),
  /** Threads terminated or lost since start, by reason (cancelled, cpuQuota, outOfMemory, crashed). */
  terminations: Schema.Record({ key: Schema.String, value: Schema.Int })
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
  runsFailed: Schema.Int,
  pool: PoolStatus
}) {}
