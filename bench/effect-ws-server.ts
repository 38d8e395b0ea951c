/**
 * The Effect reference server (see `reference-server.ts`): the bare server's frames, with each run a fiber on Effect's
 * runtime, paced by `Effect.sleep`, on the gateway's own time-sliced scheduler. The least an Effect server with a
 * fiber per run can cost here: between the bare server and the gateway, it tells Effect's own share from the
 * gateway's.
 */
import { Effect, Runtime } from "effect"
import * as TimeSlicedScheduler from "../src/Gateway/TimeSlicedScheduler.js"
import { serve } from "./reference-server.js"

const scheduler = TimeSlicedScheduler.make()
const runFork = Runtime.runFork(Runtime.defaultRuntime)

serve((tick, firstDelayMs) => {
  const run = Effect.gen(function*() {
    let delay: number | undefined = firstDelayMs
    while (delay !== undefined) {
      yield* Effect.sleep(delay)
      delay = tick()
    }
  })
  const fiber = runFork(Effect.withScheduler(run, scheduler))
  return () => fiber.unsafeInterruptAsFork(fiber.id())
})
