/** Per-principal quotas: concurrency slots held by scopes, the sliding 60 s rate window, refusals, eviction. */
import { describe, expect, it } from "@effect/vitest"
import { Deferred, Effect, Exit, FastCheck, Fiber, FiberId, Layer, Scope, TestClock } from "effect"
import type { OpenclawConfigInput } from "../src/Config/ConfigSchema.js"
import { GatewayConfig } from "../src/Config/GatewayConfig.js"
import { QuotaExceeded } from "../src/Domain/RunError.js"
import * as Quota from "../src/Quota/Quota.js"

type QuotasInput = NonNullable<OpenclawConfigInput["quotas"]>

/** A fresh in-memory store built by `Quota.layer` from the given `quotas` config. */
const quotaWith = (quotas: QuotasInput) =>
  Effect.provide(Quota.Quota, Quota.layer.pipe(Layer.provide(GatewayConfig.layerTest({ quotas }))))

/** Admits `principal` in a new scope, which the test closes to end the run. */
const admitted = (quota: Quota.QuotaService, principal: string) =>
  Effect.gen(function*() {
    const scope = yield* Scope.make()
    yield* quota.admit(principal).pipe(Scope.extend(scope))
    return scope
  })

const refusal = (quota: Quota.QuotaService, principal: string) => Effect.flip(Effect.scoped(quota.admit(principal)))

const active = (quota: Quota.QuotaService, principal: string) =>
  Effect.map(quota.snapshot(principal), (usage) => usage.activeRuns)

describe("Quota", () => {
  it.effect("a named token's own quota holds for every admission of that principal; others get the defaults", () =>
    Effect.gen(function*() {
      const quota = yield* Effect.provide(
        Quota.Quota,
        Quota.layer.pipe(Layer.provide(GatewayConfig.layerTest({
          quotas: { maxConcurrentRuns: 3 },
          gateway: {
            auth: {
              tokens: [{ name: "writer", token: "w-token", scopes: ["runs:write"], quota: { maxConcurrentRuns: 1 } }]
            }
          }
        })))
      )
      const held = yield* admitted(quota, "writer")
      const refused = yield* refusal(quota, "writer")
      expect(refused).toEqual(new QuotaExceeded({ principal: "writer", limit: "concurrentRuns", retryAfterMs: 1000 }))
      const others = yield* Effect.forEach(["a", "b", "c"], () => admitted(quota, "reader"))
      expect(yield* active(quota, "reader")).toBe(3)
      yield* Effect.forEach([held, ...others], (scope) => Scope.close(scope, Exit.void), { discard: true })
    }))

  describe("concurrentRuns", () => {
    it.effect("refuses the (n+1)th active run and admits again once a scope closes", () =>
      Effect.gen(function*() {
        const quota = yield* quotaWith({ maxConcurrentRuns: 2 })
        const first = yield* admitted(quota, "alice")
        yield* admitted(quota, "alice")
        const refused = yield* refusal(quota, "alice")
        expect(refused).toEqual(new QuotaExceeded({ principal: "alice", limit: "concurrentRuns", retryAfterMs: 1000 }))
        yield* Scope.close(first, Exit.void)
        expect(yield* active(quota, "alice")).toBe(1)
        yield* admitted(quota, "alice")
        expect(yield* active(quota, "alice")).toBe(2)
      }))

    it.effect("admitIn holds the slot in the scope handed in, releases it once, and at once into a closed scope", () =>
      Effect.gen(function*() {
        const quota = yield* quotaWith({ maxConcurrentRuns: 1 })
        const scope = yield* Scope.make()
        yield* quota.admitIn(scope, "alice")
        expect(yield* active(quota, "alice")).toBe(1)
        // Refused: nothing is added to the scope, so closing it releases the one slot only.
        const other = yield* Scope.make()
        const refused = yield* Effect.flip(quota.admitIn(other, "alice"))
        expect(refused.limit).toBe("concurrentRuns")
        yield* Scope.close(other, Exit.void)
        expect(yield* active(quota, "alice")).toBe(1)
        yield* Scope.close(scope, Exit.void)
        expect(yield* active(quota, "alice")).toBe(0)
        const closed = yield* Scope.make()
        yield* Scope.close(closed, Exit.void)
        yield* quota.admitIn(closed, "alice")
        expect(yield* active(quota, "alice")).toBe(0)
      }))

    it.effect("releases the slot of a holder that is interrupted, exactly once", () =>
      Effect.gen(function*() {
        const quota = yield* quotaWith({ maxConcurrentRuns: 2 })
        yield* admitted(quota, "alice")
        const holding = yield* Deferred.make<void>()
        const holder = yield* Effect.scoped(
          Effect.zipRight(quota.admit("alice"), Effect.zipRight(Deferred.succeed(holding, undefined), Effect.never))
        ).pipe(Effect.fork)
        yield* Deferred.await(holding)
        expect((yield* refusal(quota, "alice")).limit).toBe("concurrentRuns")
        yield* Fiber.interrupt(holder)
        expect(yield* active(quota, "alice")).toBe(1)
        yield* admitted(quota, "alice")
        expect((yield* refusal(quota, "alice")).limit).toBe("concurrentRuns")
      }))

    it.effect("releases the slot of a holder that fails", () =>
      Effect.gen(function*() {
        const quota = yield* quotaWith({ maxConcurrentRuns: 1 })
        const exit = yield* Effect.exit(Effect.scoped(Effect.zipRight(quota.admit("alice"), Effect.fail("boom"))))
        expect(Exit.isFailure(exit)).toBe(true)
        expect(yield* active(quota, "alice")).toBe(0)
        yield* admitted(quota, "alice")
        expect((yield* refusal(quota, "alice")).limit).toBe("concurrentRuns")
      }))

    it.effect("a scope closed with a defect or an interruption releases too", () =>
      Effect.gen(function*() {
        const quota = yield* quotaWith({ maxConcurrentRuns: 2 })
        const first = yield* admitted(quota, "alice")
        const second = yield* admitted(quota, "alice")
        yield* Scope.close(first, Exit.die("crash"))
        yield* Scope.close(second, Exit.interrupt(FiberId.none))
        expect(yield* active(quota, "alice")).toBe(0)
      }))
  })

  describe("runsPerMinute", () => {
    it.effect("refuses the (n+1)th start within a minute with the exact wait, and admits after it", () =>
      Effect.gen(function*() {
        const quota = yield* quotaWith({ runsPerMinute: 3 })
        // Starts at 0 s, 10 s and 20 s.
        yield* Effect.scoped(quota.admit("alice"))
        yield* TestClock.adjust("10 seconds")
        yield* Effect.scoped(quota.admit("alice"))
        yield* TestClock.adjust("10 seconds")
        yield* Effect.scoped(quota.admit("alice"))
        yield* TestClock.adjust("10 seconds")
        // At 30 s the start at 0 s leaves the window at 60 s.
        expect(yield* refusal(quota, "alice")).toEqual(
          new QuotaExceeded({ principal: "alice", limit: "runsPerMinute", retryAfterMs: 30_000 })
        )
        yield* TestClock.adjust(29_999)
        expect((yield* refusal(quota, "alice")).retryAfterMs).toBe(1)
        yield* TestClock.adjust(1)
        yield* Effect.scoped(quota.admit("alice"))
        // Now at 60 s the oldest counted start is the one at 10 s.
        expect(yield* refusal(quota, "alice")).toEqual(
          new QuotaExceeded({ principal: "alice", limit: "runsPerMinute", retryAfterMs: 10_000 })
        )
        expect(yield* quota.snapshot("alice")).toEqual({ principal: "alice", activeRuns: 0, startsInWindow: 3 })
      }))

    it.effect("starts at the same instant all leave the window together", () =>
      Effect.gen(function*() {
        const quota = yield* quotaWith({ runsPerMinute: 2 })
        yield* Effect.scoped(quota.admit("alice"))
        yield* Effect.scoped(quota.admit("alice"))
        expect((yield* refusal(quota, "alice")).retryAfterMs).toBe(60_000)
        yield* TestClock.adjust("1 minute")
        yield* Effect.scoped(quota.admit("alice"))
        yield* Effect.scoped(quota.admit("alice"))
      }))

    it.effect("when both limits are hit, the refusal names the longer wait", () =>
      Effect.gen(function*() {
        const quota = yield* quotaWith({ maxConcurrentRuns: 1, runsPerMinute: 1 })
        const scope = yield* admitted(quota, "alice")
        expect(yield* refusal(quota, "alice")).toEqual(
          new QuotaExceeded({ principal: "alice", limit: "runsPerMinute", retryAfterMs: 60_000 })
        )
        yield* TestClock.adjust(59_500)
        // The rate wait (500 ms) is now shorter than the concurrency hint (1000 ms).
        expect(yield* refusal(quota, "alice")).toEqual(
          new QuotaExceeded({ principal: "alice", limit: "concurrentRuns", retryAfterMs: 1000 })
        )
        yield* Scope.close(scope, Exit.void)
        expect((yield* refusal(quota, "alice")).retryAfterMs).toBe(500)
      }))
  })

  describe("refusals", () => {
    it.effect("rate refusals do not consume budget", () =>
      Effect.gen(function*() {
        const quota = yield* quotaWith({ runsPerMinute: 2 })
        yield* Effect.scoped(quota.admit("alice"))
        yield* TestClock.adjust("30 seconds")
        yield* Effect.scoped(quota.admit("alice"))
        for (let i = 0; i < 10; i++) {
          yield* refusal(quota, "alice")
          yield* TestClock.adjust("1 second")
        }
        // At 40 s: refused until the start at 0 s leaves; had refusals counted, 60 s would not be enough.
        expect((yield* refusal(quota, "alice")).retryAfterMs).toBe(20_000)
        yield* TestClock.adjust("20 seconds")
        yield* Effect.scoped(quota.admit("alice"))
        expect(yield* quota.snapshot("alice")).toEqual({ principal: "alice", activeRuns: 0, startsInWindow: 2 })
      }))

    it.effect("concurrency refusals do not consume rate budget", () =>
      Effect.gen(function*() {
        const quota = yield* quotaWith({ maxConcurrentRuns: 1, runsPerMinute: 2 })
        const scope = yield* admitted(quota, "alice")
        for (let i = 0; i < 5; i++) {
          expect((yield* refusal(quota, "alice")).limit).toBe("concurrentRuns")
        }
        yield* Scope.close(scope, Exit.void)
        yield* Effect.scoped(quota.admit("alice"))
        expect((yield* refusal(quota, "alice")).limit).toBe("runsPerMinute")
      }))
  })

  it.effect("principals are independent", () =>
    Effect.gen(function*() {
      const quota = yield* quotaWith({ maxConcurrentRuns: 1, runsPerMinute: 2 })
      yield* admitted(quota, "alice")
      expect((yield* refusal(quota, "alice")).principal).toBe("alice")
      yield* Effect.scoped(quota.admit("bob"))
      yield* admitted(quota, "bob")
      expect(yield* refusal(quota, "bob")).toEqual(
        new QuotaExceeded({ principal: "bob", limit: "runsPerMinute", retryAfterMs: 60_000 })
      )
      yield* admitted(quota, "carol")
      expect(yield* quota.snapshot("alice")).toEqual({ principal: "alice", activeRuns: 1, startsInWindow: 1 })
      expect(yield* quota.snapshot("bob")).toEqual({ principal: "bob", activeRuns: 1, startsInWindow: 2 })
    }))

  describe("memory", () => {
    it.effect("idle principals are swept by a later admission once their starts leave the window", () =>
      Effect.gen(function*() {
        const quota = yield* quotaWith({})
        for (let i = 0; i < 1000; i++) yield* Effect.scoped(quota.admit(`user-${i}`))
        const held = yield* admitted(quota, "holder")
        expect((yield* quota.snapshot()).length).toBe(1001)
        yield* TestClock.adjust("1 minute")
        yield* Effect.scoped(quota.admit("newcomer"))
        const left = yield* quota.snapshot()
        // The holder stays while its run is active, even though its start left the window.
        expect(left).toEqual([
          { principal: "holder", activeRuns: 1, startsInWindow: 0 },
          { principal: "newcomer", activeRuns: 0, startsInWindow: 1 }
        ])
        // Its release drops it, its start being out of the window.
        yield* Scope.close(held, Exit.void)
        expect((yield* quota.snapshot()).map((usage) => usage.principal)).toEqual(["newcomer"])
      }))

    it.effect("an unknown principal reads as zeros and is not stored", () =>
      Effect.gen(function*() {
        const quota = yield* quotaWith({})
        expect(yield* quota.snapshot("nobody")).toEqual({ principal: "nobody", activeRuns: 0, startsInWindow: 0 })
        expect(yield* quota.snapshot()).toEqual([])
      }))
  })

  it.effect("layerUnlimited admits everything", () =>
    Effect.gen(function*() {
      const quota = yield* Effect.provide(Quota.Quota, Quota.layerUnlimited)
      for (let i = 0; i < 100; i++) yield* admitted(quota, "alice")
      expect(yield* quota.snapshot()).toEqual([])
    }))

  describe("property", () => {
    const Op = FastCheck.oneof(
      FastCheck.record({ op: FastCheck.constant<"admit">("admit"), principal: FastCheck.constantFrom("a", "b", "c") }),
      FastCheck.record({
        op: FastCheck.constant<"release">("release"),
        index: FastCheck.nat(20),
        exit: FastCheck.constantFrom("success", "failure", "interrupt")
      }),
      FastCheck.record({
        op: FastCheck.constant<"advance">("advance"),
        // Steps on a 10 s grid make starts leave the window exactly when an admission comes; the odd sizes land
        // 1 ms either side of that edge; small ones pile starts up at nearly the same time.
        ms: FastCheck.oneof(
          { arbitrary: FastCheck.constantFrom(10_000, 20_000, 30_000, 60_000), weight: 3 },
          FastCheck.constantFrom(1, 59_999),
          FastCheck.nat(100),
          FastCheck.nat(40_000)
        )
      })
    )

    it.effect.prop(
      "matches a reference model; never more than the limits active or started in any 60 s window",
      {
        maxConcurrentRuns: FastCheck.integer({ min: 1, max: 4 }),
        runsPerMinute: FastCheck.integer({ min: 1, max: 6 }),
        ops: FastCheck.array(Op, { maxLength: 80 })
      },
      ({ maxConcurrentRuns, ops, runsPerMinute }) =>
        Effect.gen(function*() {
          const quota = yield* Quota.make({ maxConcurrentRuns, runsPerMinute })
          let now = 0
          const held: Array<{ readonly principal: string; readonly scope: Scope.CloseableScope }> = []
          const starts = new Map<string, Array<number>>()
          const activeIn = (principal: string) => held.filter((run) => run.principal === principal).length
          /** The model's window: a start at `t` counts while `now < t + windowMs`. */
          const startsIn = (principal: string) =>
            (starts.get(principal) ?? []).filter((start) => now < start + Quota.windowMs)
          for (const step of ops) {
            switch (step.op) {
              case "advance": {
                yield* TestClock.adjust(step.ms)
                now += step.ms
                break
              }
              case "release": {
                const run = held[step.index % Math.max(held.length, 1)]
                if (run === undefined) break
                held.splice(held.indexOf(run), 1)
                const exit = step.exit === "success"
                  ? Exit.void
                  : step.exit === "failure"
                  ? Exit.fail("boom")
                  : Exit.interrupt(FiberId.none)
                yield* Scope.close(run.scope, exit)
                break
              }
              case "admit": {
                const inWindow = startsIn(step.principal)
                const rateWait = inWindow.length >= runsPerMinute ? Math.min(...inWindow) + Quota.windowMs - now : 0
                const busy = activeIn(step.principal) >= maxConcurrentRuns
                const scope = yield* Scope.make()
                const result = yield* Effect.either(quota.admit(step.principal).pipe(Scope.extend(scope)))
                if (result._tag === "Right") {
                  expect(busy || rateWait > 0).toBe(false)
                  held.push({ principal: step.principal, scope })
                  starts.set(step.principal, [...(starts.get(step.principal) ?? []), now])
                } else {
                  yield* Scope.close(scope, Exit.void)
                  expect(busy || rateWait > 0).toBe(true)
                  const expected = rateWait > 0 && (!busy || rateWait >= Quota.concurrencyRetryAfterMs)
                    ? { limit: "runsPerMinute", retryAfterMs: rateWait }
                    : { limit: "concurrentRuns", retryAfterMs: Quota.concurrencyRetryAfterMs }
                  expect({ limit: result.left.limit, retryAfterMs: result.left.retryAfterMs }).toEqual(expected)
                }
                break
              }
            }
            for (const principal of ["a", "b", "c"]) {
              const usage = yield* quota.snapshot(principal)
              expect(usage.activeRuns).toBe(activeIn(principal))
              expect(usage.startsInWindow).toBe(startsIn(principal).length)
              expect(usage.activeRuns).toBeLessThanOrEqual(maxConcurrentRuns)
              expect(usage.startsInWindow).toBeLessThanOrEqual(runsPerMinute)
            }
          }
          // Any runsPerMinute + 1 consecutive starts of one principal span at least a full window.
          for (const times of starts.values()) {
            for (let i = 0; i + runsPerMinute < times.length; i++) {
              const first = times[i]
              const last = times[i + runsPerMinute]
              if (first !== undefined && last !== undefined) expect(last - first).toBeGreaterThanOrEqual(Quota.windowMs)
            }
          }
          // Once every run ended and a window passed, the next admission leaves only its own principal in memory.
          yield* Effect.forEach(held, (run) => Scope.close(run.scope, Exit.void), { discard: true })
          yield* TestClock.adjust(Quota.windowMs)
          yield* Effect.scoped(quota.admit("z"))
          expect(yield* quota.snapshot()).toEqual([{ principal: "z", activeRuns: 0, startsInWindow: 1 }])
        }),
      { fastCheck: { numRuns: 100 } }
    )
  })
})
