/**
 * The gateway's fiber scheduler. Effect's default runs ready fibers in microtasks (up to 2,048 rounds before a
 * timer), and Node runs every queued microtask before any socket read, timer or heartbeat: a burst of work (a thousand
 * runs starting at once) stalled the gateway's event loop for over a second. This one runs fibers in microtasks for
 * at most `sliceMs` at a time, then lets the event loop turn (`setImmediate`) before the next slice, so I/O and timers
 * wait at most about a slice, however much work is queued. Built from Effect's own `Scheduler.makeBatched`.
 */
import { Scheduler } from "effect"
import { performance } from "node:perf_hooks"

/** Long enough that a slice does real work between turns, short enough that a heartbeat or a read is never late. */
export const defaultSliceMs = 10

export const make = (sliceMs: number = defaultSliceMs): Scheduler.Scheduler => {
  /** When the current slice began; `undefined` once the event loop has turned since. */
  let sliceStartedAt: number | undefined
  const endSlice = () => {
    sliceStartedAt = undefined
  }
  // Checked when a batch is about to run, not when it is queued: a burst queues all its fibers at once.
  const runInSlice = (runBatch: () => void) => {
    const now = performance.now()
    if (sliceStartedAt === undefined) {
      sliceStartedAt = now
      // Runs once the microtasks are drained and the loop reaches its check phase: the slice is over.
      setImmediate(endSlice)
    }
    if (now - sliceStartedAt < sliceMs) runBatch()
    else setImmediate(() => runInSlice(runBatch))
  }
  return Scheduler.makeBatched((runBatch) => queueMicrotask(() => runInSlice(runBatch)))
}
