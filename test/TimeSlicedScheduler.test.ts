/** The gateway's scheduler: busy fibers leave the event loop free to turn between slices; the work still all runs. */
import { Effect, Scheduler } from "effect"
import { performance } from "node:perf_hooks"
import { describe, expect, it } from "vitest"
import * as TimeSlicedScheduler from "../src/Gateway/TimeSlicedScheduler.js"

const busyFor = (ms: number) => {
  const until = performance.now() + ms
  while (performance.now() < until) {
    // Burn the CPU, as a burst of run starts does.
  }
}

/**
 * Runs 40 fibers of 20 ms of CPU each (800 ms in all) under `scheduler`, while a 1 ms interval timer records the
 * longest wait between its ticks: how long the event loop was kept from timers and I/O.
 */
const longestStall = async (scheduler: Scheduler.Scheduler) => {
  let last = performance.now()
  let longest = 0
  const timer = setInterval(() => {
    const now = performance.now()
    longest = Math.max(longest, now - last)
    last = now
  }, 1)
  await new Promise((resolve) => setTimeout(resolve, 5))
  last = performance.now()
  const done = await Effect.runPromise(
    Effect.forEach(
      Array.from({ length: 40 }, (_, index) => index),
      (index) => Effect.sync(() => busyFor(20)).pipe(Effect.as(index)),
      { concurrency: "unbounded" }
    ).pipe(Effect.withScheduler(scheduler))
  )
  await new Promise((resolve) => setTimeout(resolve, 5))
  clearInterval(timer)
  return { longest, done }
}

describe("TimeSlicedScheduler", () => {
  it("lets timers run between slices of busy fibers, where Effect's default scheduler holds them for the whole burst", async () => {
    const sliced = await longestStall(TimeSlicedScheduler.make(10))
    expect(sliced.done).toEqual(Array.from({ length: 40 }, (_, index) => index))
    const standard = await longestStall(Scheduler.defaultScheduler)
    expect(standard.done).toEqual(sliced.done)
    // The default scheduler runs the whole 800 ms burst in microtasks; sliced, the wait is about one fiber's 20 ms
    // plus a slice. Generous bounds: the point is the order of magnitude, on a machine that may be busy.
    expect(standard.longest).toBeGreaterThan(600)
    expect(sliced.longest).toBeLessThan(200)
  })
})
