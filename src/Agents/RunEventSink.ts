/**
 * Where the run supervisor puts a run's numbered events: a `RunEventBuffer` for readers that pull (HTTP, in-process
 * callers), or a WebSocket client's stream, written by the run itself (`Gateway/SocketRunStream`). Either one bounds
 * what it holds and makes the run wait while it is over its bounds: nothing is dropped, a slow reader only slows its
 * own run.
 */
import { Effect } from "effect"
import type { AgentEvent } from "../Domain/AgentEvent.js"
import type { RunError } from "../Domain/RunError.js"

export interface RunEventSink {
  /**
   * Takes the events, in `seq` order, at once, and returns what the run must wait for before it offers more when the
   * reader is too far behind (undefined when it need not wait). Called within an Effect, like `Effect.sync`'s thunk:
   * every token passes here, and as an Effect of its own each batch cost the run four more steps.
   */
  readonly offer: (events: ReadonlyArray<AgentEvent>) => Effect.Effect<void> | undefined
  /** The run completed: no event follows. */
  readonly end: Effect.Effect<unknown>
  /** The run failed (or was cancelled): no event follows. */
  readonly fail: (error: RunError) => Effect.Effect<unknown>
}

/** `offer` as an Effect that takes the events, then waits as the sink says. */
export const offerAll = (sink: Pick<RunEventSink, "offer">, events: ReadonlyArray<AgentEvent>): Effect.Effect<void> =>
  Effect.suspend(() => sink.offer(events) ?? Effect.void)
