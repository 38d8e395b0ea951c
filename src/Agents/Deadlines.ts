/**
 * Deadlines kept by one fiber for all of them: the runs' wall-clock timeouts. A sleeping fiber per run cost a fork, a
 * timer and an interruption per run (~0.1 ms of CPU per run in bench/transport-costs.ts at 100 runs, alternated). The
 * fiber sleeps on the `Clock` until the earliest deadline (so the TestClock drives it) and is woken when an earlier
 * one is added; a deadline removed before it is due costs nothing more.
 */
import { Deferred, Duration, Effect, Exit, FiberId, type Scope } from "effect"

export interface Deadlines<K> {
  /** Calls `onDue` (once, in the keeper's fiber) when the clock reaches `at`, unless `key` is removed before. */
  readonly add: (key: K, at: number, onDue: () => void) => void
  readonly remove: (key: K) => void
}

interface Entry<K> {
  readonly at: number
  readonly key: K
  readonly onDue: () => void
}

/** The keeper lives as long as the scope. */
export const make = <K>(): Effect.Effect<Deadlines<K>, never, Scope.Scope> =>
  Effect.gen(function*() {
    const clock = yield* Effect.clock
    /** Earliest first; equal deadlines in the order they were added. */
    const entries: Array<Entry<K>> = []
    /** Completed to wake the keeper: a deadline earlier than the one it sleeps until was added. */
    let wake = Deferred.unsafeMake<void>(FiberId.none)
    /**
     * The deadline the keeper sleeps until, `undefined` while it waits for one. It may have been removed since: a later
     * one added then needs no wake-up (the keeper looks again at that time), only an earlier one does.
     */
    let sleepingUntil: number | undefined

    const add = (key: K, at: number, onDue: () => void) => {
      let low = 0
      let high = entries.length
      while (low < high) {
        const middle = (low + high) >>> 1
        if ((entries[middle]?.at ?? at) <= at) low = middle + 1
        else high = middle
      }
      entries.splice(low, 0, { at, key, onDue })
      if (sleepingUntil === undefined || at < sleepingUntil) Deferred.unsafeDone(wake, Exit.void)
    }

    // Runs mostly end in the order they started, near the front: a scan from there is short.
    const remove = (key: K) => {
      const index = entries.findIndex((entry) => entry.key === key)
      if (index >= 0) entries.splice(index, 1)
    }

    const keep: Effect.Effect<never> = Effect.suspend(() => {
      const now = clock.unsafeCurrentTimeMillis()
      for (let due = entries[0]; due !== undefined && due.at <= now; due = entries[0]) {
        entries.shift()
        due.onDue()
      }
      wake = Deferred.unsafeMake<void>(FiberId.none)
      const next = entries[0]
      sleepingUntil = next?.at
      const woken = Deferred.await(wake)
      // A timer can fire a little before the clock reads its time (Node starts it from the loop's cached time): the
      // deadline is then not yet due, and the keeper sleeps the rest.
      const waited = next === undefined
        ? woken
        : Effect.raceFirst(clock.sleep(Duration.millis(next.at - now)), woken)
      return Effect.zipRight(waited, keep)
    })
    yield* Effect.forkScoped(keep)

    return { add, remove }
  })
