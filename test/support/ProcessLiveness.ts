/** Whether a process still runs, and waiting for a condition: for tests that check children were killed. */
import { Effect } from "effect"
import * as fs from "node:fs"

export const isAlive = (pid: number): boolean => {
  try {
    // A zombie (killed, not yet reaped by whoever adopted it: PID 1 here does not reap) counts as gone.
    const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8")
    return stat.slice(stat.lastIndexOf(")") + 2)[0] !== "Z"
  } catch {
    try {
      process.kill(pid, 0)
      return true
    } catch {
      return false
    }
  }
}

/** Polls `condition` every 20 ms until it holds or `timeoutMs` passes; returns its last value. */
export const waitUntil = (condition: () => boolean, timeoutMs: number) =>
  Effect.gen(function*() {
    const deadline = Date.now() + timeoutMs
    while (!condition() && Date.now() < deadline) yield* Effect.sleep(20)
    return condition()
  })
