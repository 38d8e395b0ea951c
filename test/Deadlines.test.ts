/** One keeper fiber for many deadlines, on the TestClock. */
import { describe, expect, it } from "@effect/vitest"
import { Effect, TestClock } from "effect"
import * as Deadlines from "../src/Agents/Deadlines.js"

describe("Deadlines", () => {
  it.scoped("calls each due deadline once, in time order, when the clock reaches it; a removed one never", () =>
    Effect.gen(function*() {
      const deadlines = yield* Deadlines.make<string>()
      const fired: Array<string> = []
      const at = (key: string, ms: number) => deadlines.add(key, ms, () => fired.push(key))
      at("c", 300)
      at("a", 100)
      at("b", 200)
      at("b2", 200)
      at("gone", 150)
      deadlines.remove("gone")
      yield* TestClock.adjust("99 millis")
      expect(fired).toEqual([])
      yield* TestClock.adjust("1 millis")
      expect(fired).toEqual(["a"])
      yield* TestClock.adjust("100 millis")
      expect(fired).toEqual(["a", "b", "b2"])
      yield* TestClock.adjust("1 seconds")
      expect(fired).toEqual(["a", "b", "b2", "c"])
    }))

  it.scoped("wakes for a deadline earlier than the one it sleeps until, and for one added when it has none", () =>
    Effect.gen(function*() {
      const deadlines = yield* Deadlines.make<string>()
      const fired: Array<string> = []
      deadlines.add("late", 10_000, () => fired.push("late"))
      yield* TestClock.adjust("10 millis")
      // Added while the keeper sleeps until 10 s: it must not wait that long.
      deadlines.add("early", 50, () => fired.push("early"))
      yield* TestClock.adjust("40 millis")
      expect(fired).toEqual(["early"])
      yield* TestClock.adjust("10 seconds")
      expect(fired).toEqual(["early", "late"])
      // Nothing left (the clock at 10.05 s): the keeper waits for the next one, then sleeps until it.
      deadlines.add("next", 10_150, () => fired.push("next"))
      yield* TestClock.adjust("99 millis")
      expect(fired).toEqual(["early", "late"])
      yield* TestClock.adjust("1 millis")
      expect(fired).toEqual(["early", "late", "next"])
    }))

  it.scoped("a later deadline added after the one the keeper sleeps until was removed still comes on time", () =>
    Effect.gen(function*() {
      const deadlines = yield* Deadlines.make<string>()
      const fired: Array<string> = []
      deadlines.add("removed", 100, () => fired.push("removed"))
      yield* Effect.yieldNow()
      deadlines.remove("removed")
      // Later than the keeper's wake-up at 100 ms: it is not woken, and looks again then.
      deadlines.add("later", 200, () => fired.push("later"))
      yield* TestClock.adjust("199 millis")
      expect(fired).toEqual([])
      yield* TestClock.adjust("1 millis")
      expect(fired).toEqual(["later"])
    }))

  it.scoped("a deadline already due when added is called at the keeper's next turn", () =>
    Effect.gen(function*() {
      const deadlines = yield* Deadlines.make<string>()
      const fired: Array<string> = []
      yield* TestClock.adjust("1 seconds")
      deadlines.add("past", 10, () => fired.push("past"))
      yield* Effect.yieldNow()
      expect(fired).toEqual(["past"])
    }))
})
