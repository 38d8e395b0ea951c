/**
 * The thread pool with real worker threads: a fixture worker that misbehaves on request (busy loop,
 * heap blow-up, process.exit, hang) shows that quotas and crashes are enforced from the main thread
 * while other runs go on; the real worker entry runs the mock agent end to end.
 */
import { describe, expect, it } from "@effect/vitest"
import { Chunk, Effect, Either, Fiber, Layer, Queue, Stream } from "effect"
import type { AgentOutput } from "../src/Agents/AgentOutput.js"
import type { AgentJob } from "../src/Agents/AgentRunner.js"
import type { OpenclawConfigInput } from "../src/Config/ConfigSchema.js"
import { GatewayConfig } from "../src/Config/GatewayConfig.js"
import { RunId } from "../src/Domain/Ids.js"
import { StartRun } from "../src/Domain/RunSpec.js"
import * as MockLanguageModel from "../src/Llm/MockLanguageModel.js"
import { ThreadPool } from "../src/Pool/ThreadPool.js"
import * as Quota from "../src/Quota/Quota.js"
import * as Pool from "../src/Pool/ThreadPool.js"
import { CreditBatches, MaxOutstandingBatches } from "../src/Pool/WorkerProtocol.js"

const fixture = new URL("./fixtures/misbehaving-worker.mjs", import.meta.url)

const poolLayer = (input: OpenclawConfigInput, worker: "fixture" | "real" = "fixture") =>
  Pool.layer(worker === "fixture" ? { script: fixture } : {}).pipe(
    Layer.provide(Quota.layerUnlimited),
    Layer.provide(
      GatewayConfig.layerTest({
        ...input,
        models: { providers: { mock: { firstTokenDelayMs: 0, tokenDelayMs: 0, reply: "hello from a thread" } } }
      })
    )
  )

let counter = 0
const job = (prompt: string): Effect.Effect<AgentJob> =>
  Effect.map(MockLanguageModel.make(GatewayConfig.fromInput({}).config.models.providers.mock), (languageModel) => ({
    runId: RunId.make(`run-${++counter}`),
    agent: "codex",
    spec: new StartRun({ prompt, mode: "thread-bound" }),
    model: { id: "mock/mock-1", provider: "mock", model: "mock-1", languageModel }
  }))

/** Every output the pool hands over for the job, in order. */
const collect = (job: AgentJob) =>
  Effect.flatMap(ThreadPool, (pool) => {
    const outputs: Array<AgentOutput> = []
    return Effect.as(
      pool.execute(job, (chunk) =>
        Effect.sync(() => {
          outputs.push(...chunk)
          return true
        })),
      outputs
    )
  })

/** The job's outputs through `submit`, the pool's Stream of them. */
const run = (prompt: string) =>
  Effect.gen(function*() {
    const pool = yield* ThreadPool
    const outputs = yield* Stream.runCollect(pool.submit(yield* job(prompt))).pipe(Effect.either)
    return Either.map(outputs, Chunk.toReadonlyArray)
  })

const tags = (outputs: ReadonlyArray<AgentOutput>) => outputs.map((output) => output._tag)

const errorTag = <A>(result: Either.Either<A, { readonly _tag: string }>) =>
  Either.isLeft(result) ? result.left._tag : "success"

/** Waits until `predicate` holds for the pool's stats (bounded). */
const statsUntil = (predicate: (stats: Pool.PoolStats) => boolean) =>
  Effect.gen(function*() {
    const pool = yield* ThreadPool
    for (let attempt = 0; attempt < 200; attempt++) {
      const stats = yield* pool.stats
      if (predicate(stats)) return stats
      yield* Effect.sleep("20 millis")
    }
    return yield* Effect.dieMessage(`pool never reached the expected state: ${JSON.stringify(yield* pool.stats)}`)
  })

/** A run that never ends, once it holds its thread: interrupting it frees the thread (terminated, replaced). */
const hangOneThread = Effect.gen(function*() {
  const hung = yield* Effect.fork(run("hang"))
  yield* statsUntil((stats) => stats.threads.some((thread) => thread.status === "busy"))
  return hung
})

/** The main thread's worst timer lateness while `effect` runs: it must stay responsive. */
const withLoopDelay = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
  Effect.gen(function*() {
    let worst = 0
    let last = performance.now()
    const timer = setInterval(() => {
      const now = performance.now()
      worst = Math.max(worst, now - last - 10)
      last = now
    }, 10)
    const result = yield* Effect.ensuring(effect, Effect.sync(() => clearInterval(timer)))
    return [result, worst] as const
  })

describe("ThreadPool with a misbehaving worker", () => {
  it.live("runs a job on a thread and keeps minThreads warm", () =>
    Effect.gen(function*() {
      const warm = yield* statsUntil((stats) => stats.threads.filter((thread) => thread.status === "idle").length === 2)
      expect(warm.threads).toHaveLength(2)
      const result = yield* run("hi")
      expect(Either.map(result, tags)).toEqual(Either.right(["RunStarted", "TokenDelta", "RunCompleted"]))
      const after = yield* statsUntil((stats) => stats.threads.every((thread) => thread.status === "idle"))
      expect(after.threads).toHaveLength(2)
      expect(after.terminations).toEqual({})
    }).pipe(Effect.provide(poolLayer({ agents: { threadPool: { minThreads: 2, maxThreads: 3 } } }))))

  it.live("a busy loop is stopped by the CPU quota while another run completes and the main thread stays responsive", () =>
    Effect.gen(function*() {
      yield* statsUntil((stats) => stats.threads.filter((thread) => thread.status === "idle").length === 2)
      const [[busy, healthy], worstDelay] = yield* withLoopDelay(
        Effect.all([run("busy"), Effect.delay(run("fine"), "50 millis")], { concurrency: "unbounded" })
      )
      expect(errorTag(busy)).toBe("CpuQuotaExceeded")
      expect(Either.map(healthy, tags)).toEqual(Either.right(["RunStarted", "TokenDelta", "RunCompleted"]))
      expect(worstDelay).toBeLessThan(500)
      const stats = yield* statsUntil((s) => s.terminations["cpuQuota"] === 1 && s.threads.every((t) => t.status !== "busy"))
      expect(stats.threads.length).toBeGreaterThanOrEqual(1)
    }).pipe(Effect.provide(poolLayer({ agents: { threadPool: { minThreads: 2, maxThreads: 2, limits: { cpuTimeMs: 300 } } } }))))

  it.live("a heap blow-up is stopped by the heap limit with ThreadOutOfMemory; the other run completes", () =>
    Effect.gen(function*() {
      const [blown, healthy] = yield* Effect.all([run("heap"), Effect.delay(run("fine"), "50 millis")], {
        concurrency: "unbounded"
      })
      expect(errorTag(blown)).toBe("ThreadOutOfMemory")
      expect(errorTag(healthy)).toBe("success")
      // The pool replaces the lost thread and serves the next run.
      expect(errorTag(yield* run("again"))).toBe("success")
    }).pipe(Effect.provide(poolLayer({ agents: { threadPool: { maxThreads: 2, limits: { heapMb: 64 } } } }))), 30_000)

  it.live("messages outside the protocol from a worker are dropped; the run completes and the thread is reused", () =>
    Effect.gen(function*() {
      // The first run may wait for the thread to start (RunQueued).
      const started = (outputs: ReadonlyArray<AgentOutput>) => outputs.filter((output) => output._tag !== "RunQueued")
      const outputs = yield* run("hostile")
      const ends = (all: ReadonlyArray<AgentOutput>) =>
        started(all).map((output) => output._tag === "RunCompleted" ? output.text : output._tag)
      expect(Either.map(outputs, ends)).toEqual(Either.right(["RunStarted", "survived"]))
      const again = yield* run("after")
      expect(Either.map(again, (all) => tags(started(all))))
        .toEqual(Either.right(["RunStarted", "TokenDelta", "RunCompleted"]))
    }).pipe(Effect.provide(poolLayer({ agents: { threadPool: { minThreads: 1, maxThreads: 1 } } }))))

  it.live("process.exit inside a run is WorkerCrashed with the exit code", () =>
    Effect.gen(function*() {
      const crashed = yield* run("exit")
      expect(Either.isLeft(crashed) && crashed.left._tag === "WorkerCrashed" && crashed.left.exitCode).toBe(3)
      expect(errorTag(yield* run("after"))).toBe("success")
    }).pipe(Effect.provide(poolLayer({ agents: { threadPool: { maxThreads: 1 } } }))))

  it.live("queues FIFO with positions, refuses past queueSize with QueueFull, and cancelling frees the thread", () =>
    Effect.gen(function*() {
      const hung = yield* hangOneThread
      const queued = yield* Effect.fork(collect(yield* job("queued")))
      yield* statsUntil((stats) => stats.queued.length === 1)
      const refused = yield* run("refused")
      expect(Either.isLeft(refused) && refused.left._tag === "QueueFull" && refused.left.queueSize).toBe(1)
      // Cancel the hung run: its thread is terminated and the queued run gets the replacement.
      yield* Fiber.interrupt(hung)
      const queuedOutputs = yield* Fiber.join(queued)
      expect(queuedOutputs[0]).toEqual({ _tag: "RunQueued", position: 1 })
      expect(tags(queuedOutputs).at(-1)).toBe("RunCompleted")
      expect(errorTag(yield* run("next"))).toBe("success")
      const stats = yield* statsUntil((s) => s.threads.every((thread) => thread.status !== "busy"))
      expect(stats.terminations["cancelled"]).toBe(1)
    }).pipe(Effect.provide(poolLayer({ agents: { threadPool: { minThreads: 1, maxThreads: 1, queueSize: 1 } } }))))

  it.live("run collects a queued run's outputs without its places in the queue", () =>
    Effect.gen(function*() {
      const pool = yield* ThreadPool
      const hung = yield* hangOneThread
      const queued = yield* Effect.fork(pool.run(yield* job("queued")))
      yield* statsUntil((stats) => stats.queued.length === 1)
      yield* Fiber.interrupt(hung)
      const outputs = yield* Fiber.join(queued)
      expect(tags(outputs)).toEqual(["RunStarted", "TokenDelta", "RunCompleted"])
    }).pipe(Effect.provide(poolLayer({ agents: { threadPool: { minThreads: 1, maxThreads: 1, queueSize: 1 } } }))))

  it.live("interrupting run stops its run: a queued one leaves the queue, a busy one's thread is replaced", () =>
    Effect.gen(function*() {
      const pool = yield* ThreadPool
      const busy = yield* Effect.fork(pool.run(yield* job("hang")))
      yield* statsUntil((stats) => stats.threads.some((thread) => thread.status === "busy"))
      const waiting = yield* Effect.fork(pool.run(yield* job("queued")))
      yield* statsUntil((stats) => stats.queued.length === 1)
      yield* Fiber.interrupt(waiting)
      expect((yield* pool.stats).queued).toEqual([])
      yield* Fiber.interrupt(busy)
      const stats = yield* statsUntil((s) => s.threads.some((thread) => thread.status === "idle"))
      expect(stats.terminations).toEqual({ cancelled: 1 })
      expect(errorTag(yield* run("after"))).toBe("success")
    }).pipe(Effect.provide(poolLayer({ agents: { threadPool: { minThreads: 1, maxThreads: 1, queueSize: 1 } } }))))

  it.live("a consumer that has not taken its place in the queue yet is given only the latest", () =>
    Effect.gen(function*() {
      const pool = yield* ThreadPool
      const hung = yield* hangOneThread
      const ahead = [yield* Effect.fork(run("a")), yield* Effect.fork(run("b"))]
      yield* statsUntil((stats) => stats.queued.length === 2)
      // The consumer takes its first place, then is busy until `busy` opens.
      const emitted = yield* Queue.unbounded<ReadonlyArray<AgentOutput>>()
      const busy = yield* Effect.makeLatch(false)
      const last = yield* Effect.fork(pool.execute(yield* job("last"), (chunk) =>
        Effect.as(Effect.zipRight(Queue.offer(emitted, Chunk.toReadonlyArray(chunk)), busy.await), true)))
      expect(yield* Queue.take(emitted)).toEqual([{ _tag: "RunQueued", position: 3 }])
      // Each run ahead leaves in a turn of its own, so the pool tells "last" its place twice; it takes them once.
      for (const fiber of ahead) {
        yield* Fiber.interrupt(fiber)
        yield* Effect.async<void>((resume) => void setImmediate(() => resume(Effect.void)))
      }
      yield* busy.open
      expect(yield* Queue.take(emitted)).toEqual([{ _tag: "RunQueued", position: 1 }])
      yield* Fiber.interrupt(hung)
      yield* Fiber.interrupt(last)
    }).pipe(
      Effect.scoped,
      Effect.provide(poolLayer({ agents: { threadPool: { minThreads: 1, maxThreads: 1, queueSize: 3 } } }))
    ))

  it.live("flow control: a slow consumer holds the worker back; it is credited only for batches taken, in lots", () =>
    Effect.gen(function*() {
      const pool = yield* ThreadPool
      let taken = 0
      const seen: Array<readonly [batch: number, credits: number]> = []
      yield* pool.execute(yield* job("flood"), (chunk) =>
        Effect.gen(function*() {
          for (const output of chunk) {
            if (output._tag !== "TokenDelta") continue
            const [batch = Number.NaN, credits = Number.NaN] = output.text.split(":").map(Number)
            // The credits a batch was sent with are for batches taken in earlier chunks, never for buffered ones.
            expect(credits).toBeLessThanOrEqual(taken)
            seen.push([batch, credits])
          }
          taken += Chunk.size(chunk)
          yield* Effect.sleep("5 millis")
          return true
        }))
      expect(seen.map(([batch]) => batch)).toEqual(Array.from({ length: 40 }, (_, i) => i))
      // Held back: past the first MaxOutstandingBatches, every batch waited for a credit.
      expect(seen.every(([batch, credits]) => batch < MaxOutstandingBatches + credits)).toBe(true)
      // Credited in lots of at least CreditBatches, not one message per batch.
      const levels = [...new Set(seen.map(([, credits]) => credits))]
      expect(levels.length).toBeGreaterThan(1)
      expect(levels.every((credits, i) => i === 0 || credits - (levels[i - 1] ?? 0) >= CreditBatches)).toBe(true)
    }).pipe(Effect.provide(poolLayer({ agents: { threadPool: { maxThreads: 1 } } }))))

  it.live("retires threads idle longer than idleTimeout, down to minThreads", () =>
    Effect.gen(function*() {
      yield* Effect.all([run("a"), run("b")], { concurrency: "unbounded" })
      const stats = yield* statsUntil((s) => s.threads.length === 0)
      expect(stats.threads).toEqual([])
    }).pipe(
      Effect.provide(poolLayer({ agents: { threadPool: { minThreads: 0, maxThreads: 2, idleTimeout: 100 } } }))
    ))
})

describe("ThreadPool with the real worker entry", () => {
  it.live("runs the mock agent in a worker thread, twice on the same warm thread", () =>
    Effect.gen(function*() {
      const first = yield* run("first")
      const second = yield* run("second")
      for (const result of [first, second]) {
        expect(Either.isRight(result)).toBe(true)
        if (Either.isRight(result)) {
          const text = result.right.flatMap((output) => output._tag === "TokenDelta" ? [output.text] : []).join("")
          expect(text).toBe("hello from a thread")
          expect(tags(result.right).at(-1)).toBe("RunCompleted")
        }
      }
      const stats = yield* (yield* ThreadPool).stats
      expect(stats.threads).toHaveLength(1)
      expect(stats.terminations).toEqual({})
    }).pipe(Effect.provide(poolLayer({ agents: { threadPool: { minThreads: 1, maxThreads: 1 } } }, "real"))))
})

describe("ThreadPool with a worker that cannot start", () => {
  it.live("fails waiting runs with WorkerCrashed after repeated start-up deaths instead of hanging", () =>
    Effect.gen(function*() {
      const result = yield* run("anything")
      expect(errorTag(result)).toBe("WorkerCrashed")
      expect(Either.isLeft(result) && result.left.message).toMatch(/fail to start \(3 in a row\)/)
    }).pipe(
      Effect.provide(
        Pool.layer({ script: new URL("./fixtures/broken-worker.mjs", import.meta.url) }).pipe(
          Layer.provide(Quota.layerUnlimited),
          Layer.provide(GatewayConfig.layerTest({ agents: { threadPool: { minThreads: 0, maxThreads: 1 } } }))
        )
      )
    ))
})

describe("ThreadPool subagents", () => {
  const subagentPool = (maxThreads: number) =>
    Pool.layer().pipe(
      Layer.provide(
        GatewayConfig.layerTest({
          agents: { threadPool: { minThreads: maxThreads, maxThreads }, maxSubagentDepth: 1 },
          models: {
            providers: {
              mock: {
                firstTokenDelayMs: 0,
                tokenDelayMs: 0,
                reply: "done",
                toolCalls: [{ name: "spawn_subagent", params: { prompt: "child task" } }]
              }
            }
          }
        })
      )
    )

  it.live("spawn_subagent in a worker runs the child on another pool thread and forwards its events", () =>
    Effect.gen(function*() {
      const result = yield* run("parent task")
      expect(Either.isRight(result)).toBe(true)
      if (Either.isLeft(result)) return
      const outputs = result.right
      const forwarded = outputs.flatMap((output) => output._tag === "SubagentEvent" ? [output] : [])
      expect(forwarded.length).toBeGreaterThan(0)
      expect(new Set(forwarded.map((output) => output.childRunId)).size).toBe(1)
      expect(forwarded.every((output) => output.depth === 1)).toBe(true)
      const childEvents = forwarded.map((output) => output.event)
      expect(childEvents.map((event) => event.seq)).toEqual(childEvents.map((_, index) => index))
      // The child may wait a moment for the second thread to finish starting.
      expect(childEvents.find((event) => event._tag !== "RunQueued")?._tag).toBe("RunStarted")
      expect(childEvents.at(-1)?._tag).toBe("RunCompleted")
      // The child tried to spawn too, at the depth limit: refused as a tool error, not performed.
      expect(childEvents.some((event) => event._tag === "ToolResult" && event.isError)).toBe(true)
      const spawnResult = outputs.find((output) => output._tag === "ToolResult" && output.name === "spawn_subagent")
      expect(spawnResult?._tag === "ToolResult" && spawnResult.isError).toBe(false)
      expect(tags(outputs).at(-1)).toBe("RunCompleted")
      const stats = yield* (yield* ThreadPool).stats
      expect(stats.terminations).toEqual({})
    }).pipe(Effect.provide(subagentPool(2).pipe(Layer.provide(Quota.layerUnlimited)))))

  it.live("a subagent that cannot get a thread at once is refused (QueueFull), never waits on its parent's thread", () =>
    Effect.gen(function*() {
      const result = yield* run("parent task")
      expect(Either.isRight(result)).toBe(true)
      if (Either.isLeft(result)) return
      const spawnResult = result.right.find((output) => output._tag === "ToolResult" && output.name === "spawn_subagent")
      expect(spawnResult?._tag === "ToolResult" && spawnResult.isError).toBe(true)
      expect(JSON.stringify(spawnResult)).toMatch(/queue is full/)
      expect(tags(result.right).at(-1)).toBe("RunCompleted")
    }).pipe(Effect.provide(subagentPool(1).pipe(Layer.provide(Quota.layerUnlimited)))))

  it.live("a subagent counts against its parent's principal's quota", () =>
    Effect.gen(function*() {
      const quota = yield* Quota.Quota
      // Another run of the same principal holds the only slot.
      yield* quota.admit("anonymous")
      const result = yield* run("parent task")
      expect(Either.isRight(result)).toBe(true)
      if (Either.isLeft(result)) return
      const spawnResult = result.right.find((output) => output._tag === "ToolResult" && output.name === "spawn_subagent")
      expect(spawnResult?._tag === "ToolResult" && spawnResult.isError).toBe(true)
      expect(JSON.stringify(spawnResult)).toMatch(/quota exceeded/)
    }).pipe(
      Effect.scoped,
      Effect.provide(
        subagentPool(2).pipe(
          Layer.provideMerge(Layer.effect(Quota.Quota, Quota.make({ maxConcurrentRuns: 1, runsPerMinute: 100 })))
        )
      )
    ))
})
