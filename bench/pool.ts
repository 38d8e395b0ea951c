/**
 * The thread pool against piscina, in one process run: sequential dispatch latency (submit -> first
 * event / result) and throughput with many tasks in flight, both on warm threads doing a task that
 * returns at once, so what is measured is the pool itself. The floor under both: the same messages to the same noop
 * workers through bare `worker_threads` with a FIFO array and no pool logic at all. Also a whole mock-agent run
 * through the real worker entry, for scale. Every loop is bounded in count and time.
 *
 *   npm run bench -- [--quick]
 */
import { Effect, Layer } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { fileURLToPath } from "node:url"
import { Worker } from "node:worker_threads"
import { Piscina } from "piscina"
import type { AgentJob } from "../src/Agents/AgentRunner.js"
import { GatewayConfig } from "../src/Config/GatewayConfig.js"
import { RunId } from "../src/Domain/Ids.js"
import type { RunError } from "../src/Domain/RunError.js"
import { StartRun } from "../src/Domain/RunSpec.js"
import * as MockLanguageModel from "../src/Llm/MockLanguageModel.js"
import * as ThreadPool from "../src/Pool/ThreadPool.js"
import * as Quota from "../src/Quota/Quota.js"

const quick = process.argv.includes("--quick")
/** `--only=<text>`: measure only the rows whose name contains it (for profiling one path); results are not written. */
const only = process.argv.find((arg) => arg.startsWith("--only="))?.slice("--only=".length)
const selected = (name: string) => only === undefined || name.includes(only)
const benchDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../../../bench")
const threads = Math.min(2, os.availableParallelism())
const sequentialCount = quick ? 1_000 : 5_000
const throughputCount = quick ? 20_000 : 100_000
const inFlight = 64
const agentRuns = quick ? 100 : 400
const timeBudgetMs = quick ? 20_000 : 60_000
/** Interleaved rounds of the noop measurements; each row reports the median of its rounds. */
const rounds = 3

const percentile = (values: ReadonlyArray<number>, q: number) => {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * q))] ?? Number.NaN
}

interface Row {
  readonly name: string
  readonly p50Ms: number
  readonly p99Ms: number
  readonly opsPerSecond: number
  /** CPU time of the whole process (main thread and workers) per task during the throughput phase, in µs. */
  readonly cpuUsPerTask: number
  /**
   * CPU time of the main thread alone per task during the throughput phase, in µs: with two cores shared by the main
   * thread and two workers, this is what decides the throughput, and it is far less noisy than the throughput on a
   * loaded machine. NaN where Linux's per-thread scheduler statistics are missing.
   */
  readonly mainCpuUsPerTask: number
}

/** The calling thread's CPU time in µs (Linux), NaN elsewhere. */
const threadCpuUs = (): number => {
  try {
    return Number(fs.readFileSync("/proc/thread-self/schedstat", "utf8").split(" ")[0]) / 1000
  } catch {
    return Number.NaN
  }
}

/** When a throughput phase began: the clock, the process's CPU and the main thread's. */
const startThroughput = () => ({ at: performance.now(), cpu: process.cpuUsage(), mainCpuUs: threadCpuUs() })

/** A row from the sequential latencies and a throughput phase begun at `since` that completed `done` tasks. */
const rowOf = (
  name: string,
  latencies: ReadonlyArray<number>,
  since: ReturnType<typeof startThroughput>,
  done: number
): Row => {
  const seconds = (performance.now() - since.at) / 1000
  const cpu = process.cpuUsage(since.cpu)
  return {
    name,
    p50Ms: percentile(latencies, 0.5),
    p99Ms: percentile(latencies, 0.99),
    opsPerSecond: done / seconds,
    cpuUsPerTask: (cpu.user + cpu.system) / done,
    mainCpuUsPerTask: (threadCpuUs() - since.mainCpuUs) / done
  }
}

const config = (maxThreads: number) =>
  GatewayConfig.layerTest({
    agents: { threadPool: { minThreads: maxThreads, maxThreads, queueSize: 1_000_000 } },
    models: { providers: { mock: { firstTokenDelayMs: 0, tokenDelayMs: 0, reply: "ok" } } }
  })

const poolLayer = (script: URL | undefined) =>
  ThreadPool.layer(script === undefined ? {} : { script }).pipe(
    Layer.provide(Quota.layerUnlimited),
    Layer.provide(config(threads))
  )

let counter = 0
/** One spec for every job, as piscina gets the same kind of input every time: the pool's cost, not the caller's. */
const spec = new StartRun({ prompt: "x", mode: "thread-bound" })
const makeJob = (languageModel: AgentJob["model"]["languageModel"]): AgentJob => ({
  // A known-good id, not validated again (0.4 µs): piscina's side gets a number.
  runId: RunId.make(`bench-${++counter}`, true),
  agent: "codex",
  spec,
  model: { id: "mock/mock-1", provider: "mock", model: "mock-1", languageModel }
})

/**
 * Sequential latency and throughput of one pool (noop worker or the real agent), through `run` (the outputs collected)
 * or `execute` (the outputs handed over as they come, as the run supervisor takes them).
 */
const measurePool = (name: string, script: URL | undefined, sequential: number, total: number, api: "run" | "execute") =>
  Effect.gen(function*() {
    const pool = yield* ThreadPool.ThreadPool
    const languageModel = yield* MockLanguageModel.make(GatewayConfig.fromInput({}).config.models.providers.mock)
    // Warm: every thread up and past its first run.
    while ((yield* pool.stats).threads.filter((thread) => thread.status === "idle").length < threads) {
      yield* Effect.sleep("10 millis")
    }
    const deadline = Date.now() + timeBudgetMs
    const latencies: Array<number> = []
    for (let i = 0; i < sequential + 50 && Date.now() < deadline; i++) {
      const start = performance.now()
      let first = 0
      if (api === "run") {
        yield* pool.run(makeJob(languageModel))
        first = performance.now()
      } else {
        yield* pool.execute(makeJob(languageModel), () =>
          Effect.sync(() => {
            if (first === 0) first = performance.now()
            return true
          }))
      }
      if (i >= 50) latencies.push(first - start)
    }
    const throughput = startThroughput()
    let begun = 0
    let done = 0
    // `inFlight` lanes, each submitting its next task when its last one ends: the shape of piscina's side (a fiber per
    // task instead cost the harness about 3 µs per task more than piscina's async lanes).
    const task = Effect.suspend(() =>
      api === "run" ? pool.run(makeJob(languageModel)) : pool.execute(makeJob(languageModel), () => Effect.succeed(true))
    )
    const lane = Effect.whileLoop({
      while: () => begun < total && Date.now() < deadline,
      body: () => {
        begun++
        return task
      },
      step: () => void done++
    })
    yield* Effect.all(Array.from({ length: inFlight }, () => lane), { concurrency: "unbounded", discard: true })
    return rowOf(name, latencies, throughput, done)
  }).pipe(Effect.provide(poolLayer(script)))

/** A throughput phase: `inFlight` promise lanes over `runTask`, timed, with the process's and the main thread's CPU. */
const measureLanes = async (name: string, runTask: (i: number) => Promise<unknown>, sequential: number, total: number) => {
  for (let i = 0; i < 200; i++) await runTask(i)
  const deadline = Date.now() + timeBudgetMs
  const latencies: Array<number> = []
  for (let i = 0; i < sequential && Date.now() < deadline; i++) {
    const start = performance.now()
    await runTask(i)
    latencies.push(performance.now() - start)
  }
  const throughput = startThroughput()
  let next = 0
  let done = 0
  const lane = async () => {
    while (next < total && Date.now() < deadline) {
      next++
      await runTask(next)
      done++
    }
  }
  await Promise.all(Array.from({ length: inFlight }, lane))
  return rowOf(name, latencies, throughput, done)
}

const measurePiscina = async (sequential: number, total: number): Promise<Row> => {
  const piscina = new Piscina({
    filename: path.join(benchDir, "piscina-task.mjs"),
    minThreads: threads,
    maxThreads: threads,
    idleTimeout: 60_000
  })
  try {
    return await measureLanes("piscina (noop task)", (i) => piscina.run(i), sequential, total)
  } finally {
    await piscina.destroy()
  }
}

const bareRow = "bare worker_threads (noop worker, no pool)"

/**
 * The floor: `threads` Workers running the pool's noop worker, each handed the next `Run` message (the shape the pool
 * posts) from a FIFO array as it answers, with nothing else: no scheduler, no checks, no quotas, no supervision. What a
 * pool adds to a worker round trip is its distance from this row.
 */
const measureBare = async (script: URL, sequential: number, total: number): Promise<Row> => {
  interface Slot {
    readonly worker: Worker
    done: (() => void) | undefined
  }
  const waiting: Array<{ readonly runId: string; readonly done: () => void }> = []
  const idle: Array<Slot> = []
  const post = (slot: Slot, runId: string, done: () => void) => {
    slot.done = done
    slot.worker.postMessage({ _tag: "Run", runId, agent: "codex", spec: { ...spec }, model: "mock/mock-1", depth: 0 })
  }
  const slots = await Promise.all(Array.from({ length: threads }, () =>
    new Promise<Slot>((resolve) => {
      const slot: Slot = { worker: new Worker(script), done: undefined }
      slot.worker.on("message", (message: { readonly _tag: string }) => {
        if (message._tag === "Ready") return resolve(slot)
        if (message._tag !== "Completed") return
        const done = slot.done
        const next = waiting.shift()
        if (next === undefined) {
          slot.done = undefined
          idle.push(slot)
        } else {
          post(slot, next.runId, next.done)
        }
        done?.()
      })
    })))
  idle.push(...slots)
  const runTask = (i: number) =>
    new Promise<void>((done) => {
      const runId = `bare-${i}`
      const slot = idle.pop()
      if (slot === undefined) waiting.push({ runId, done })
      else post(slot, runId, done)
    })
  try {
    return await measureLanes(bareRow, runTask, sequential, total)
  } finally {
    await Promise.all(slots.map((slot) => slot.worker.terminate()))
  }
}

const median = (values: ReadonlyArray<number>) => percentile(values, 0.5)

const main = Effect.gen(function*() {
  // Interleaved: piscina, ours, piscina, ours, ..., so drift in the machine's load affects both alike. Each row
  // reports the median of its rounds, not the best.
  const noop = new URL(`file://${path.join(benchDir, "noop-worker.mjs")}`)
  const measurements: ReadonlyArray<readonly [string, Effect.Effect<Row, RunError>]> = [
    [bareRow, Effect.promise(() => measureBare(noop, sequentialCount / 2, throughputCount / 2))],
    ["piscina (noop task)", Effect.promise(() => measurePiscina(sequentialCount / 2, throughputCount / 2))],
    [
      "ThreadPool.run (noop worker)",
      measurePool("ThreadPool.run (noop worker)", noop, sequentialCount / 2, throughputCount / 2, "run")
    ],
    [
      "ThreadPool.execute (noop worker)",
      measurePool("ThreadPool.execute (noop worker)", noop, sequentialCount / 2, throughputCount / 2, "execute")
    ]
  ]
  const rows: Array<Row> = []
  for (let round = 0; round < rounds; round++) {
    for (const [name, measure] of measurements) if (selected(name)) rows.push(yield* measure)
  }
  const agentRow = "ThreadPool.execute (real worker, mock agent run)"
  if (selected(agentRow)) rows.push(yield* measurePool(agentRow, undefined, agentRuns, agentRuns * 2, "execute"))
  const merged = new Map<string, Array<Row>>()
  for (const row of rows) merged.set(row.name, [...(merged.get(row.name) ?? []), row])
  const summary = [...merged.entries()].map(([name, samples]) => ({
    name,
    p50Ms: median(samples.map((s) => s.p50Ms)),
    p99Ms: median(samples.map((s) => s.p99Ms)),
    opsPerSecond: median(samples.map((s) => s.opsPerSecond)),
    cpuUsPerTask: median(samples.map((s) => s.cpuUsPerTask)),
    mainCpuUsPerTask: median(samples.map((s) => s.mainCpuUsPerTask)),
    rounds: samples
  }))
  const machine = {
    cores: os.availableParallelism(),
    cpu: os.cpus()[0]?.model ?? "unknown",
    node: process.version,
    threads,
    quick
  }
  const table = [
    `| pool (${threads} warm threads) | dispatch p50 | dispatch p99 | throughput (${inFlight} in flight) | CPU per task | main thread CPU per task |`,
    "|---|---|---|---|---|---|",
    ...summary.map((row) =>
      `| ${row.name} | ${row.p50Ms.toFixed(3)} ms | ${row.p99Ms.toFixed(3)} ms | ${Math.round(row.opsPerSecond)} /s | ${
        Math.round(row.cpuUsPerTask)
      } µs | ${Math.round(row.mainCpuUsPerTask)} µs |`
    )
  ].join("\n")
  console.log(`\nmachine: ${machine.cores} cores (${machine.cpu}), Node ${machine.node}\n\n${table}\n`)
  if (only !== undefined) return
  const resultsDir = path.join(benchDir, "results")
  fs.mkdirSync(resultsDir, { recursive: true })
  const file = path.join(resultsDir, quick ? "pool-quick.json" : "pool.json")
  fs.writeFileSync(file, JSON.stringify({ at: new Date().toISOString(), machine, summary, table }, null, 2) + "\n")
  console.log(`written: ${path.relative(process.cwd(), file)}`)
})

Effect.runPromise(main).then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error)
    process.exit(1)
  }
)
