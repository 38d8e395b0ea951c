/**
 * Where the run supervisor puts a run's numbered events: a `RunEventBuffer` for readers that pull (HTTP, in-process
 * callers), or a WebSocket client's stream, written by the run itself (`Gateway/SocketRunStream`). Either one bounds
 * what it holds and makes the run wait while it is over its bounds: nothing is dropped, a slow reader only slows its
 * own run.
 */
import type { Effect } from "effect"
import type { AgentEvent } from "../Domain/AgentEvent.js"
import type { RunError } from "../Domain/RunError.js"

export interface RunEventSink {
  /** Takes the events, in `seq` order; waits while the reader is too far behind. */
  readonly offerAll: (events: ReadonlyArray<AgentEvent>) => Effect.Effect<void>
  /** The run completed: no event follows. */
  readonly end: Effect.Effect<unknown>
  /** The run failed (or was cancelled): no event follows. */
  readonly fail: (error: RunError) => Effect.Effect<unknown>
}
