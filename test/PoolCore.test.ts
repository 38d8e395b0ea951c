/**
 * The pool's synchronous core driven directly, with the test fixture worker on real threads: what the Effect service
 * cannot show deterministically, such as what happens within one event-loop turn.
 */
import { describe, expect, it } from "@effect/vitest"
import { Deferred, Effect } from "effect"
import type { AgentJob } from "../src/Agents/AgentRunner.js"
import { GatewayConfig } from "../src/Config/GatewayConfig.js"
import { RunId } from "../src/Domain/Ids.js"
import { StartRun } from "../src/Domain/RunSpec.js"
import * as MockLanguageModel from "../src/Llm/MockLanguageModel.js"
import { makePoolCore, type PoolCore, type PoolCoreOptions, type PoolStats } from "../src/Pool/PoolCore.js"

const fixture = new URL("./fixtures/misbehaving-worker.mjs", import.meta.url)

/** A core of one thread and room for `queueSize` waiting runs, closed with the scope. */
const scopedCore = (queueSize: number, positionIntervalMs = 0, options: Partial<PoolCoreOptions> = {}) =>
  Effect.acquireRelease(
    Effect.sync(() =>
      makePoolCore({
        scheduler: { maxThreads: 1, minThreads: 1, idleTimeoutMs: 60_000, queueSize },
        heapMb: 256,
        cpuTimeMs: 60_000,
        script: fixture,
        configInput: {},
        positionIntervalMs,
        onSubagentMessage: () => {},
        onThreadGone: () => {},
        onLog: () => {},
        ...options
      })
    ),
    (core) => Effect.sync(core.close)
  )

let counter = 0
const job = (prompt: string): Effect.Effect<AgentJob> =>
  Effect.map(MockLanguageModel.make(GatewayConfig.fromInput({}).config.models.providers.mock), (languageModel) => ({
    runId: RunId.make(`core-run-${++counter}`),
    agent: "codex",
    spec: new StartRun({ prompt, mode: "thread-bound" }),
    model: { id: "mock/mock-1", provider: "mock", model: "mock-1", languageModel }
  }))

const statsUntil = (core: PoolCore, predicate: (stats: PoolStats) => boolean) =>
  Effect.gen(function*() {
    for (let attempt = 0; attempt < 200; attempt++) {
      if (predicate(core.stats())) return
      yield* Effect.sleep("20 millis")
    }
    return yield* Effect.dieMessage(`pool never reached the expected state: ${JSON.stringify(core.stats())}`)
  })

/** Lets the current event-loop turn finish (its `setImmediate`s run first). */
const nextTurn = Effect.async<void>((resume) => void setImmediate(() => resume(Effect.void)))

/**
 * One run holding the only thread and four waiting behind it ("a" to "d"), each noting the places it is told; they
 * were told 1 to 4 on joining.
 */
const queueOfFour = (positionIntervalMs: number) =>
  Effect.gen(function*() {
    const core = yield* scopedCore(5, positionIntervalMs)
    yield* statsUntil(core, (stats) => stats.threads.some((thread) => thread.status === "idle"))
    const told = new Map<string, Array<number>>()
    const submit = (prompt: string) =>
      Effect.map(job(prompt), (run) => {
        told.set(prompt, [])
        core.submit(run, {
          onOutputs: () => {},
          onQueued: (position) => told.get(prompt)?.push(position),
          onEnd: () => {}
        })
        return run.runId
      })
    yield* submit("hang")
    const [a, b] = [yield* submit("a"), yield* submit("b")]
    yield* submit("c")
    yield* submit("d")
    expect([...told.values()]).toEqual([[], [1], [2], [3], [4]])
    return { core, told, a, b }
  })

describe("PoolCore", () => {
  it.live("waiting runs are told their place on joining, then once per turn while they move up, never back", () =>
    Effect.gen(function*() {
      const { core, told, a, b } = yield* queueOfFour(0)
      // Two runs ahead leave in one turn: the others hear of it once, after the turn, with their latest places.
      core.cancel(a)
      core.cancel(b)
      expect(told.get("c")).toEqual([3])
      yield* nextTurn
      expect(told.get("c")).toEqual([3, 1])
      expect(told.get("d")).toEqual([4, 2])
      // The last run leaving moves nobody.
      core.cancel(core.stats().queued[1] ?? "")
      yield* nextTurn
      expect(told.get("c")).toEqual([3, 1])
    }).pipe(Effect.scoped))

  it.live("with an interval, moves within it are told once, with the latest place, when it is over", () =>
    Effect.gen(function*() {
      const { told, a, b, core } = yield* queueOfFour(200)
      core.cancel(a)
      yield* nextTurn
      core.cancel(b)
      yield* nextTurn
      // Two turns with moves, and nobody told yet: the interval has not run out.
      expect(told.get("c")).toEqual([3])
      for (let attempt = 0; attempt < 100 && (told.get("c")?.length ?? 0) < 2; attempt++) yield* Effect.sleep("20 millis")
      expect(told.get("c")).toEqual([3, 1])
      expect(told.get("d")).toEqual([4, 2])
    }).pipe(Effect.scoped))

  it.live("a closed core replaces no thread and keeps no timer: nothing holds the process open", () =>
    Effect.gen(function*() {
      const timersBefore = process.getActiveResourcesInfo().filter((resource) => resource === "Timeout").length
      const gone: Array<number> = []
      const core = makePoolCore({
        scheduler: { maxThreads: 2, minThreads: 2, idleTimeoutMs: 60_000, queueSize: 0 },
        heapMb: 256,
        cpuTimeMs: 60_000,
        script: fixture,
        configInput: {},
        positionIntervalMs: 0,
        onSubagentMessage: () => {},
        onThreadGone: (threadId) => gone.push(threadId),
        onLog: () => {}
      })
      yield* statsUntil(core, (stats) => stats.threads.filter((thread) => thread.status === "idle").length === 2)
      core.close()
      yield* statsUntil(core, () => gone.length >= 2)
      // Past the first respawn back-off (100 ms): a core that kept its minimum after closing would have tried again.
      yield* Effect.sleep("400 millis")
      expect([...gone].sort((a, b) => a - b)).toEqual([1, 2])
      expect(core.stats().threads.every((thread) => thread.status !== "idle" && thread.status !== "busy")).toBe(true)
      expect(process.getActiveResourcesInfo().filter((resource) => resource === "Timeout").length)
        .toBeLessThanOrEqual(timersBefore)
    }))

  it.live("retires an idle thread even if its wake-up timer fires before the clock reads the time it was set for", () =>
    Effect.gen(function*() {
      // A clock at half the speed of timers: every wake-up fires while the clock still reads before its time, as Node's
      // timers can (they start from the event loop's time, cached when the turn began). A Tick that found nothing due
      // used to leave no timer behind, and the thread idle for good.
      const started = Date.now()
      const core = yield* scopedCore(0, 0, {
        scheduler: { maxThreads: 1, minThreads: 0, idleTimeoutMs: 300, queueSize: 0 },
        now: () => started + (Date.now() - started) / 2
      })
      const ended = yield* Deferred.make<void>()
      core.submit(yield* job("quick"), { onOutputs: () => {}, onEnd: () => Deferred.unsafeDone(ended, Effect.void) })
      yield* Deferred.await(ended)
      // Idle now; retired 300 ms of timers later, while the slow clock reads 150.
      expect(core.stats().threads.map((thread) => thread.status)).toEqual(["idle"])
      yield* statsUntil(core, (stats) => stats.threads.length === 0)
      expect(core.stats().terminations).toEqual({})
    }).pipe(Effect.scoped))
})
