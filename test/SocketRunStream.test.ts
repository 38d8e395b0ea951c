/**
 * A run's stream to a WebSocket client on its own, with a recording `send` in place of the socket: one Chunk with the
 * client at a time, events offered meanwhile gathered into the next one, the run held back past either bound, the
 * outcome only once every event before it has been sent, and an event that cannot be sent ending the stream.
 */
import { describe, expect, it } from "@effect/vitest"
import { Cause, Effect, Exit, Fiber, Option } from "effect"
import type { AgentEvent } from "../src/Domain/AgentEvent.js"
import { TokenDelta } from "../src/Domain/AgentEvent.js"
import { RunId } from "../src/Domain/Ids.js"
import { RunCancelled } from "../src/Domain/RunError.js"
import { weightOf } from "../src/Agents/RunEventBuffer.js"
import { offerAll } from "../src/Agents/RunEventSink.js"
import * as SocketRunStream from "../src/Gateway/SocketRunStream.js"

const runId = RunId.make("socket-stream-test")
const delta = (seq: number) => new TokenDelta({ runId, seq, at: 0, text: "word " })

/** A client that acknowledges by hand (`ack()`), or at once with `autoAck`. */
const recording = (options: {
  readonly capacity?: number
  readonly budgetBytes?: number
  readonly autoAck?: boolean
}) => {
  const chunks: Array<ReadonlyArray<number>> = []
  let delivered: (() => void) | undefined
  const stream = SocketRunStream.make({
    capacity: options.capacity ?? 1000,
    budgetBytes: options.budgetBytes ?? 1_000_000,
    send: (events: ReadonlyArray<AgentEvent>, onDelivered) => {
      chunks.push(events.map((event) => event.seq))
      if (options.autoAck === true) onDelivered()
      else delivered = onDelivered
    }
  })
  const ack = () => {
    const pending = delivered
    delivered = undefined
    pending?.()
  }
  return { stream, chunks, ack }
}

const isDone = <A, E>(fiber: Fiber.Fiber<A, E>) => Effect.map(Fiber.poll(fiber), Option.isSome)

describe("SocketRunStream", () => {
  it.effect("sends at once while the client has credit, and gathers what comes meanwhile into the next Chunk", () =>
    Effect.gen(function*() {
      const { ack, chunks, stream } = recording({})
      yield* offerAll(stream, [delta(0)])
      yield* offerAll(stream, [delta(1)])
      yield* offerAll(stream, [delta(2), delta(3)])
      expect(chunks).toEqual([[0]])
      ack()
      expect(chunks).toEqual([[0], [1, 2, 3]])
      // Nothing pending: the Ack only restores the credit.
      ack()
      yield* offerAll(stream, [delta(4)])
      expect(chunks).toEqual([[0], [1, 2, 3], [4]])
    }))

  it.effect("with the socket acknowledging at once, every offer is its own Chunk", () =>
    Effect.gen(function*() {
      const { chunks, stream } = recording({ autoAck: true })
      for (let seq = 0; seq < 5; seq++) yield* offerAll(stream, [delta(seq)])
      expect(chunks).toEqual([[0], [1], [2], [3], [4]])
    }))

  const bounds = [
    { bound: "runs.eventBuffer (events)", capacity: 2 },
    { bound: "runs.eventBufferBytes", budgetBytes: weightOf(delta(0)) * 2 }
  ]
  for (const { bound, ...options } of bounds) {
    it.effect(`holds the run back while the waiting events are over ${bound}, and lets it go on the Ack`, () =>
      Effect.gen(function*() {
        const { ack, chunks, stream } = recording(options)
        yield* offerAll(stream, [delta(0)])
        yield* offerAll(stream, [delta(1), delta(2)])
        const waiting = yield* Effect.fork(offerAll(stream, [delta(3)]))
        yield* Effect.yieldNow()
        expect(yield* isDone(waiting)).toBe(false)
        ack()
        yield* Fiber.join(waiting)
        expect(chunks).toEqual([[0], [1, 2, 3]])
      }))
  }

  it.effect("the outcome comes only once every event before it is sent: success, or the run's error", () =>
    Effect.gen(function*() {
      const completed = recording({})
      yield* offerAll(completed.stream, [delta(0)])
      yield* offerAll(completed.stream, [delta(1)])
      yield* completed.stream.end
      const success = yield* Effect.fork(completed.stream.outcome)
      yield* Effect.yieldNow()
      expect(yield* isDone(success)).toBe(false)
      completed.ack()
      expect(yield* Fiber.await(success)).toEqual(Exit.void)
      expect(completed.chunks).toEqual([[0], [1]])

      const cancelled = recording({})
      const error = new RunCancelled({ runId, reason: "client" })
      yield* offerAll(cancelled.stream, [delta(0)])
      yield* cancelled.stream.fail(error)
      // Nothing is taken after the end, and a second end changes nothing.
      yield* offerAll(cancelled.stream, [delta(1)])
      yield* cancelled.stream.end
      expect(yield* Effect.exit(cancelled.stream.outcome)).toEqual(Exit.fail(error))
      cancelled.ack()
      expect(cancelled.chunks).toEqual([[0]])
    }))

  it.effect("the outcome reaches every fiber waiting and any that asks later; an interrupted wait ends alone", () =>
    Effect.gen(function*() {
      const { ack, stream } = recording({})
      yield* offerAll(stream, [delta(0)])
      // Waits for the Ack of the first: the outcome waits for it.
      yield* offerAll(stream, [delta(1)])
      yield* stream.end
      const first = yield* Effect.fork(stream.outcome)
      const second = yield* Effect.fork(stream.outcome)
      const gaveUp = yield* Effect.fork(stream.outcome)
      yield* Effect.yieldNow()
      expect(yield* Fiber.interrupt(gaveUp)).toSatisfy(Exit.isInterrupted)
      ack()
      expect(yield* Fiber.await(first)).toEqual(Exit.void)
      expect(yield* Fiber.await(second)).toEqual(Exit.void)
      expect(yield* Effect.exit(stream.outcome)).toEqual(Exit.void)
    }))

  it.effect("an event that cannot be sent ends the stream with that defect, and nothing more is sent", () =>
    Effect.gen(function*() {
      let sends = 0
      const stream = SocketRunStream.make({
        capacity: 10,
        budgetBytes: 1_000_000,
        send: () => {
          sends++
          throw new Error("cannot encode")
        }
      })
      yield* offerAll(stream, [delta(0)])
      yield* offerAll(stream, [delta(1)])
      const outcome = yield* Effect.exit(stream.outcome)
      expect(Exit.isFailure(outcome) && Cause.isDie(outcome.cause)).toBe(true)
      expect(Exit.isFailure(outcome) ? Cause.pretty(outcome.cause) : "").toContain("cannot encode")
      expect(sends).toBe(1)
    }))
})
