/**
 * The run's event buffer on its own: its weight accounting stays exact over many reads (the weights' array is
 * compacted as reads move its head), and it still holds the run back once its unread events weigh over the budget.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Fiber, Option } from "effect"
import * as RunEventBuffer from "../src/Agents/RunEventBuffer.js"
import { offerAll } from "../src/Agents/RunEventSink.js"
import { TokenDelta } from "../src/Domain/AgentEvent.js"
import { RunId } from "../src/Domain/Ids.js"

const runId = RunId.make("buffer-test")
const delta = (seq: number) => new TokenDelta({ runId, seq, at: 0, text: "word " })

describe("RunEventBuffer", () => {
  it.effect("counts what was read exactly over thousands of events, then waits again once over the budget", () =>
    Effect.gen(function*() {
      const weight = RunEventBuffer.weightOf(delta(0))
      const buffer = yield* RunEventBuffer.make({ capacity: 10_000, budgetBytes: weight * 10 })
      // Read as fast as offered, in reads of every size: the run never waits.
      let seq = 0
      for (let round = 0; round < 500; round++) {
        const batch = Array.from({ length: 1 + (round % 9) }, () => delta(seq++))
        const offered = yield* Effect.fork(offerAll(buffer, batch))
        yield* Effect.yieldNow()
        expect(Option.isSome(yield* Fiber.poll(offered)), `round ${round}: the run waits`).toBe(true)
        if (round % 2 === 0) yield* buffer.events.takeAll
        else for (let index = 0; index < batch.length; index++) yield* buffer.events.take
      }
      expect(seq).toBeGreaterThan(2000)
      expect(yield* buffer.events.size).toEqual(Option.some(0))
      // Ten events fit the budget; the eleventh makes the run wait until a read.
      yield* offerAll(buffer, Array.from({ length: 10 }, () => delta(seq++)))
      const waiting = yield* Effect.fork(offerAll(buffer, [delta(seq++)]))
      yield* Effect.yieldNow()
      expect(Option.isNone(yield* Fiber.poll(waiting))).toBe(true)
      yield* buffer.events.take
      yield* Fiber.join(waiting)
      expect(yield* buffer.events.size).toEqual(Option.some(10))
    }))

  it.effect("takes what the mailbox has room for at once; the wait offers the rest in order as the reader reads", () =>
    Effect.gen(function*() {
      const buffer = yield* RunEventBuffer.make({ capacity: 4, budgetBytes: 1_000_000 })
      expect(buffer.offer([delta(0), delta(1)])).toBeUndefined()
      const wait = buffer.offer([delta(2), delta(3), delta(4), delta(5)])
      expect(wait).toBeDefined()
      expect(yield* buffer.events.size).toEqual(Option.some(4))
      const waiting = yield* Effect.fork(wait ?? Effect.void)
      yield* Effect.yieldNow()
      expect(Option.isNone(yield* Fiber.poll(waiting))).toBe(true)
      const [first] = yield* buffer.events.takeAll
      yield* Fiber.join(waiting)
      const [rest] = yield* buffer.events.takeAll
      expect([...first, ...rest].map((event) => event.seq)).toEqual([0, 1, 2, 3, 4, 5])
    }))
})
