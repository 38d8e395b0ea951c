/**
 * A run's events on their way to a WebSocket client, written by the run itself: the supervisor's `offer` hands
 * them to the socket at once while the client has credit, with no mailbox, no reader fiber and no RPC server stream
 * loop in between (each was a fiber wake-up per token). The client's credit is one Chunk, as with @effect/rpc's own
 * server: a Chunk is sent, and the next one waits until the client has acknowledged it (or, with `?ack=auto`, until
 * the socket takes it). Events offered meanwhile gather into that next Chunk, so a reader that falls behind gets
 * fewer, larger Chunks; they are bounded like a `RunEventBuffer` (`runs.eventBuffer` events, `runs.eventBufferBytes`
 * bytes), and the run waits while they are over either bound.
 */
import { Effect, Exit } from "effect"
import { isNonEmptyArray, type NonEmptyReadonlyArray } from "effect/Array"
import type { AgentEvent } from "../Domain/AgentEvent.js"
import type { RunError } from "../Domain/RunError.js"
import type { RunEventSink } from "../Agents/RunEventSink.js"
import { weightOf } from "../Agents/RunEventBuffer.js"

export interface SocketRunStream extends RunEventSink {
  /**
   * The run's outcome, once every event before it has been handed to the socket: succeeds after `RunCompleted`,
   * fails with the run's error. The request answers it with its Exit frame.
   */
  readonly outcome: Effect.Effect<void, RunError>
}

export const make = (options: {
  readonly capacity: number
  readonly budgetBytes: number
  /**
   * Sends one Chunk; `delivered` is to be called once, when the client may be sent the next one. If it throws, the
   * stream ends with that defect and takes nothing more.
   */
  readonly send: (events: NonEmptyReadonlyArray<AgentEvent>, delivered: () => void) => void
}): SocketRunStream => {
  /** The outcome, once decided, and the fibers waiting for it meanwhile. */
  let outcome: Exit.Exit<void, RunError> | undefined
  let waiting: Array<(outcome: Exit.Exit<void, RunError>) => void> = []
  // Not a Deferred: making one costs ~3 µs here (it copies Effect's whole prototype), once per run.
  const decide = (exit: Exit.Exit<void, RunError>) => {
    if (outcome !== undefined) return
    outcome = exit
    const resumes = waiting
    waiting = []
    for (const resume of resumes) resume(exit)
  }
  const room = Effect.unsafeMakeLatch(true)
  /** A Chunk is with the client and not yet acknowledged: the next one waits. */
  let awaitingAck = false
  let pending: Array<AgentEvent> = []
  let pendingBytes = 0
  let ending: Exit.Exit<void, RunError> | undefined

  const settle = () => {
    if (ending !== undefined && pending.length === 0) decide(ending)
  }
  const delivered = () => {
    awaitingAck = false
    flush()
    settle()
  }
  function flush() {
    const chunk = pending
    if (awaitingAck || !isNonEmptyArray(chunk)) return
    pending = []
    pendingBytes = 0
    room.unsafeOpen()
    // Set before sending: `send` may call `delivered` at once.
    awaitingAck = true
    try {
      options.send(chunk, delivered)
    } catch (error) {
      ending = Exit.die(error)
      decide(ending)
    }
  }

  return {
    // No canceler: an interrupted wait's resume, called later, resumes nothing (Effect ignores it).
    outcome: Effect.async<void, RunError>((resume) => {
      if (outcome !== undefined) return resume(outcome)
      waiting.push(resume)
    }),
    offer: (events) => {
      if (ending !== undefined || events.length === 0) return undefined
      for (const event of events) {
        pending.push(event)
        pendingBytes += weightOf(event)
      }
      flush()
      if (pending.length <= options.capacity && pendingBytes <= options.budgetBytes) return undefined
      room.unsafeClose()
      return room.await
    },
    end: Effect.sync(() => {
      ending ??= Exit.void
      settle()
    }),
    fail: (error) =>
      Effect.sync(() => {
        ending ??= Exit.fail(error)
        settle()
      })
  }
}
