// Rough dispatch latency through the pool: submit -> first output (RunStarted), and submit -> end, warm thread.
import { Effect, Layer, Stream } from "effect"
import { GatewayConfig } from "../src/Config/GatewayConfig.js"
import * as Pool from "../src/Pool/ThreadPool.js"
import * as Quota from "../src/Quota/Quota.js"
import * as MockLanguageModel from "../src/Llm/MockLanguageModel.js"
import { RunId } from "../src/Domain/Ids.js"
import { StartRun } from "../src/Domain/RunSpec.js"
const cfg = GatewayConfig.layerTest({ agents: { threadPool: { minThreads: 1, maxThreads: 1 } }, models: { providers: { mock: { firstTokenDelayMs: 0, tokenDelayMs: 0, reply: "ok" } } } })
const program = Effect.gen(function*() {
  const pool = yield* Pool.ThreadPool
  const lm = yield* MockLanguageModel.make(GatewayConfig.fromInput({}).config.models.providers.mock)
  const first: number[] = [], total: number[] = []
  for (let i = 0; i < 300; i++) {
    const job = { runId: RunId.make(`r${i}`), agent: "codex" as const, spec: new StartRun({ prompt: "x", mode: "thread-bound" }), model: { id: "mock/mock-1", provider: "mock", model: "mock-1", languageModel: lm } }
    const t0 = performance.now(); let t1 = 0
    yield* pool.submit(job).pipe(Stream.tap(() => Effect.sync(() => { if (t1 === 0) t1 = performance.now() })), Stream.runDrain)
    first.push(t1 - t0); total.push(performance.now() - t0)
  }
  const p = (a: number[], q: number) => a.slice(50).sort((x, y) => x - y)[Math.floor((a.length - 50) * q)]!.toFixed(3)
  console.log(`first output p50 ${p(first, 0.5)} ms p99 ${p(first, 0.99)} ms; whole run p50 ${p(total, 0.5)} ms p99 ${p(total, 0.99)} ms`)
})
Effect.runPromise(program.pipe(Effect.provide(Pool.layer().pipe(Layer.provide(Quota.layerUnlimited), Layer.provide(cfg))), Effect.scoped)).then(() => process.exit(0))
