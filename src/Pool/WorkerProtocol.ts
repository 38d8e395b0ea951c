/**
 * Messages between the pool (main thread) and a worker thread, as Schemas: both sides encode what
 * they send and decode what they receive, so a confused or compromised worker cannot hand the main
 * thread anything but well-formed events and typed errors. Events travel as the wire protocol's
 * `AgentEvent`s; the supervisor on the main thread renumbers them (`seq`, `at`).
 */
import { Schema } from "effect"
import { AgentEvent } from "../Domain/AgentEvent.js"
import { KnownAgent } from "../Config/ConfigSchema.js"
import { RunId } from "../Domain/Ids.js"
import { LogLevelName } from "../Domain/LogEntry.js"
import { RunError } from "../Domain/RunError.js"
import { StartRun } from "../Domain/RunSpec.js"

/** Batches a worker may send for one run before the main thread has taken them (flow control). */
export const MaxOutstandingBatches = 8

/**
 * The main thread credits taken batches back in lots of this many, not one `Credit` per batch: a tiny run then costs
 * one message each way. Half of `MaxOutstandingBatches`, so the worker still has batches to send while a lot is due.
 */
export const CreditBatches = MaxOutstandingBatches / 2

/** What the worker needs at start, as `workerData`. */
export const WorkerInit = Schema.Struct({
  threadId: Schema.Int,
  /** The parsed `openclaw.json` (not yet decoded: secrets are resolved in the worker). */
  configInput: Schema.Unknown
})
export type WorkerInit = typeof WorkerInit.Type

export const ToWorker = Schema.Union(
  Schema.TaggedStruct("Run", {
    runId: RunId,
    agent: KnownAgent,
    spec: StartRun,
    /** `provider/model`, resolved again by the worker's own provider registry. */
    model: Schema.String,
    /** 0 for a client's run; a subagent's depth in its chain of parents. */
    depth: Schema.Int.pipe(Schema.nonNegative()),
    /** The main thread's span of the run, the parent of the worker's spans. */
    trace: Schema.optional(Schema.Struct({ traceId: Schema.String, spanId: Schema.String }))
  }),
  /** The main thread took `batches` batches of this run: the worker may send that many more. */
  Schema.TaggedStruct("Credit", { runId: RunId, batches: Schema.Int.pipe(Schema.positive()) }),
  /** Events of a subagent the worker asked for (numbered under the child's own run id). */
  Schema.TaggedStruct("SubagentEvents", { requestId: Schema.Int, events: Schema.Array(AgentEvent) }),
  /** The subagent ended: completed, or failed with `error`. */
  Schema.TaggedStruct("SubagentEnded", { requestId: Schema.Int, error: Schema.optional(RunError) })
)
export type ToWorker = typeof ToWorker.Type

export const FromWorker = Schema.Union(
  /** The worker built its runtime and takes runs. */
  Schema.TaggedStruct("Ready", {}),
  Schema.TaggedStruct("Events", { runId: RunId, events: Schema.Array(AgentEvent) }),
  /**
   * The run ended cleanly and its resources are released (the thread takes the next run). `events` is its last batch,
   * the one holding `RunCompleted`, sent with the end so that a short run costs one message; it takes no credit.
   */
  Schema.TaggedStruct("Completed", { runId: RunId, events: Schema.Array(AgentEvent) }),
  Schema.TaggedStruct("Failed", { runId: RunId, error: RunError }),
  /** The run asks for a child `subagent` run on another thread of the pool (the `spawn_subagent` tool). */
  Schema.TaggedStruct("SpawnSubagent", {
    requestId: Schema.Int,
    parentRunId: RunId,
    depth: Schema.Int.pipe(Schema.positive()),
    prompt: Schema.String
  }),
  /** The run no longer wants that subagent (the tool call was interrupted). */
  Schema.TaggedStruct("StopSubagent", { requestId: Schema.Int }),
  /** A log entry of the worker's code, written by the main thread's logger (one log format, one ring). */
  Schema.TaggedStruct("Log", {
    level: LogLevelName,
    message: Schema.String,
    annotations: Schema.Record({ key: Schema.String, value: Schema.String })
  }),
  /** Periodic health report: the worker's own heap (the main thread cannot read it on Node 20). */
  Schema.TaggedStruct("Health", { heapUsedBytes: Schema.Number })
)
export type FromWorker = typeof FromWorker.Type
