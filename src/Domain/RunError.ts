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

export const RunError = Schema.Union(
  AgentNotAllowed,
  InvalidRequest,
  RunTimedOut,
  RunCancelled,
  RunNotFound,
  ProviderFailed,
  AgentFailed
)
export type RunError = typeof RunError.Type
