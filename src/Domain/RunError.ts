/**
 * Typed failures of a run, carried in the error channel of the `StartRun` stream (and of
 * `CancelRun`). Each has a `message` a person can read.
 */
import { Schema } from "effect"
import { RunId } from "./Ids.js"

export class AgentNotAllowed extends Schema.TaggedError<AgentNotAllowed>()("AgentNotAllowed", {
  agent: Schema.String,
  allowed: Schema.Array(Schema.String)
}) {
  override get message() {
    return `agent "${this.agent}" is not allowed (acp.allowedAgents: ${this.allowed.join(", ")})`
  }
}

export class InvalidRequest extends Schema.TaggedError<InvalidRequest>()("InvalidRequest", {
  reason: Schema.String
}) {
  override get message() {
    return `invalid request: ${this.reason}`
  }
}

export class RunTimedOut extends Schema.TaggedError<RunTimedOut>()("RunTimedOut", {
  runId: RunId,
  timeoutMs: Schema.Number
}) {
  override get message() {
    return `run ${this.runId} timed out after ${this.timeoutMs} ms`
  }
}

export class RunCancelled extends Schema.TaggedError<RunCancelled>()("RunCancelled", {
  runId: RunId,
  reason: Schema.Literal("client", "shutdown")
}) {
  override get message() {
    return this.reason === "shutdown"
      ? `run ${this.runId} was cancelled because the gateway is shutting down`
      : `run ${this.runId} was cancelled`
  }
}

export class RunNotFound extends Schema.TaggedError<RunNotFound>()("RunNotFound", {
  runId: Schema.String
}) {
  override get message() {
    return `no active run ${this.runId}`
  }
}

export class ProviderFailed extends Schema.TaggedError<ProviderFailed>()("ProviderFailed", {
  provider: Schema.String,
  status: Schema.optional(Schema.Int),
  reason: Schema.String
}) {
  override get message() {
    return `provider ${this.provider} failed${this.status === undefined ? "" : ` (${this.status})`}: ${this.reason}`
  }
}

/** The agent itself failed (a tool it could not run, a command that could not start). */
export class AgentFailed extends Schema.TaggedError<AgentFailed>()("AgentFailed", {
  runId: RunId,
  reason: Schema.String
}) {
  override get message() {
    return `run ${this.runId} failed: ${this.reason}`
  }
}

/** The gateway is shutting down and starts no new run (try another gateway, or this one once it is back). */
export class GatewayShuttingDown extends Schema.TaggedError<GatewayShuttingDown>()("GatewayShuttingDown", {}) {
  override get message() {
    return "the gateway is shutting down and starts no new runs"
  }
}

/** The pool's queue is full; try again after `retryAfterMs`. */
export class QueueFull extends Schema.TaggedError<QueueFull>()("QueueFull", {
  queueSize: Schema.Int,
  retryAfterMs: Schema.Number
}) {
  override get message() {
    return `the run queue is full (${this.queueSize} waiting): retry in ${Math.ceil(this.retryAfterMs / 1000)} s`
  }
}

/** The caller's own limits: too many active runs, or too many started in the last minute. */
export class QuotaExceeded extends Schema.TaggedError<QuotaExceeded>()("QuotaExceeded", {
  principal: Schema.String,
  limit: Schema.Literal("concurrentRuns", "runsPerMinute"),
  retryAfterMs: Schema.Number
}) {
  override get message() {
    const what = this.limit === "concurrentRuns" ? "too many active runs" : "too many runs this minute"
    return `quota exceeded for ${this.principal}: ${what}; retry in ${Math.ceil(this.retryAfterMs / 1000)} s`
  }
}

/** The run's thread went over its heap limit and was terminated. */
export class ThreadOutOfMemory extends Schema.TaggedError<ThreadOutOfMemory>()("ThreadOutOfMemory", {
  runId: RunId,
  heapMb: Schema.Number
}) {
  override get message() {
    return `run ${this.runId} exceeded the ${this.heapMb} MB heap limit of its thread`
  }
}

/** The run used more CPU time than `agents.threadPool.limits.cpuTimeMs`; its thread was terminated. */
export class CpuQuotaExceeded extends Schema.TaggedError<CpuQuotaExceeded>()("CpuQuotaExceeded", {
  runId: RunId,
  cpuTimeMs: Schema.Number
}) {
  override get message() {
    return `run ${this.runId} exceeded its CPU time quota of ${this.cpuTimeMs} ms`
  }
}

/** The run's thread exited unexpectedly. */
export class WorkerCrashed extends Schema.TaggedError<WorkerCrashed>()("WorkerCrashed", {
  runId: RunId,
  exitCode: Schema.NullOr(Schema.Int),
  reason: Schema.String
}) {
  override get message() {
    return `the thread of run ${this.runId} crashed: ${this.reason}`
  }
}

export const RunError = Schema.Union(
  AgentNotAllowed,
  InvalidRequest,
  RunTimedOut,
  RunCancelled,
  RunNotFound,
  ProviderFailed,
  AgentFailed,
  GatewayShuttingDown,
  QueueFull,
  QuotaExceeded,
  ThreadOutOfMemory,
  CpuQuotaExceeded,
  WorkerCrashed
)
export type RunError = typeof RunError.Type
