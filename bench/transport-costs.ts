/**
 * Where the gateway's CPU goes before any socket: process CPU per run and per token of each layer of an inline run's
 * path, from the inside out (the mock's raw parts, one model turn, the agent runner, the run supervisor drained
 * in-process), plus @effect/ai's own `streamText` for comparison. The differences say what each layer costs. Not part
 * of `npm run bench`; for profiling (`node --cpu-prof`). Every loop is bounded in count.
 *
 *   tsc -p bench/tsconfig.json && TOKENS=20 TOKEN_MS=0 RUNS=500 CONCURRENCY=10 \
 *     [ONLY=supervisor] node node_modules/.cache/openclaw-bench/bench/transport-costs.js
 */
import * as Prompt from "@effect/ai/Prompt"
import { Effect, Layer, Mailbox, Stream } from "effect"
import { performance } from "node:perf_hooks"
import { AgentRunner } from "../src/Agents/AgentRunner.js"
import * as AgentTools from "../src/Agents/AgentTools.js"
import * as InlineRunner from "../src/Agents/InlineRunner.js"
import * as RunEventBuffer from "../src/Agents/RunEventBuffer.js"
import { runTurn } from "../src/Agents/ModelTurn.js"
import { RunSupervisor } from "../src/Agents/RunSupervisor.js"
import { GatewayConfig } from "../src/Config/GatewayConfig.js"
import { RunId } from "../src/Domain/Ids.js"
import { StartRun } from "../src/Domain/RunSpec.js"
import * as ProviderRegistry from "../src/Llm/ProviderRegistry.js"

const env = (name: string, fallback: number) => Number(process.env[name] ?? fallback)
const tokens = env("TOKENS", 20)
const runs = env("RUNS", 500)
const concurrency = env("CONCURRENCY", 10)
/** The mock's delays (first token and between tokens); 0 yields every token in one chunk. */
const tokenMs = env("TOKEN_MS", 0)
/** `ONLY=<name part>`: only the measurements whose name contains it (for a profile of one path). */
const only = process.env["ONLY"] ?? ""

const words = ["the", "gateway", "streams", "each", "token", "to"]
const reply = Array.from({ length: tokens }, (_, i) => words[i % words.length]).join(" ")
const input = { models: { providers: { mock: { firstTokenDelayMs: tokenMs, tokenDelayMs: tokenMs, reply } } } }
const cpuMs = () => {
  const usage = process.cpuUsage()
  return (usage.user + usage.system) / 1000
}

const measure = async (name: string, one: () => Promise<void>) => {
  if (!name.includes(only)) return
  for (let i = 0; i < 50; i++) await one()
  const cpu0 = cpuMs()
  const wall0 = performance.now()
  await Promise.all(Array.from({ length: concurrency }, async () => {
    for (let i = 0; i < Math.ceil(runs / concurrency); i++) await one()
  }))
  const perRun = (cpuMs() - cpu0) / runs
  console.log(
    `${name}: ${perRun.toFixed(3)} ms CPU per run, ${(perRun / tokens * 1000).toFixed(1)} us per token ` +
      `(${runs} runs of ${tokens} tokens, ${concurrency} at once, wall ${(performance.now() - wall0).toFixed(0)} ms)`
  )
}

const drained = <A, E>(stream: Stream.Stream<A, E>) => () => Effect.runPromise(Stream.runDrain(stream))

const main = Effect.gen(function*() {
  const model = yield* Effect.flatMap(ProviderRegistry.ProviderRegistry, (registry) => registry.resolve(undefined))
  const prompt = Prompt.make("bench")
  const toolkit = AgentTools.toolkit
  const raw = model.rawParts
  if (raw !== undefined) {
    const parts = Effect.useSpan("bench", (span) =>
      raw(
        { prompt, tools: Object.values(toolkit.tools), toolChoice: "auto", responseFormat: { type: "text" }, span },
        () => Effect.void
      ))
    yield* Effect.promise(() => measure("mock raw parts", () => Effect.runPromise(parts)))
  }
  yield* Effect.promise(() =>
    measure(
      "one model turn (Agents/ModelTurn)",
      () => Effect.runPromise(runTurn(model, prompt, toolkit, () => Effect.void))
    )
  )
  yield* Effect.promise(() =>
    measure(
      "@effect/ai streamText with the agents' toolkit (what ModelTurn avoids)",
      drained(model.languageModel.streamText({ prompt, toolkit, disableToolCallResolution: true }))
    )
  )
  const runner = yield* AgentRunner
  const spec = new StartRun({ prompt: "bench", mode: "inline" })
  yield* Effect.promise(() =>
    measure("agent runner", () =>
      Effect.runPromise(
        runner.execute({ runId: RunId.make("bench"), agent: "codex", spec, model }, () => Effect.succeed(true))
      ))
  )
  const supervisor = yield* RunSupervisor
  const oneRun = Effect.scoped(Effect.gen(function*() {
    const run = yield* supervisor.start(spec)
    yield* Stream.runDrain(Mailbox.toStream(run.events))
  }))
  yield* Effect.promise(() => measure("inline run through the supervisor", () => Effect.runPromise(oneRun)))
  // Read as the RPC server reads a stream's mailbox (a loop of `takeAll`), without Stream machinery on the reader.
  const oneRunTaken = Effect.scoped(Effect.gen(function*() {
    const run = yield* supervisor.start(spec)
    let done = false
    yield* Effect.whileLoop({
      while: () => !done,
      body: () => Effect.map(run.events.takeAll, ([, ended]) => void (done = ended)),
      step: () => {}
    })
  }))
  yield* Effect.promise(() =>
    measure("inline run through the supervisor, read by takeAll", () => Effect.runPromise(oneRunTaken))
  )
  // The one-stage Stream over takeAll the HTTP readers use (`RunEventBuffer.toStream`), against Mailbox.toStream above.
  const oneRunOneStage = Effect.scoped(Effect.gen(function*() {
    const run = yield* supervisor.start(spec)
    yield* Stream.runDrain(RunEventBuffer.toStream(run.events))
  }))
  yield* Effect.promise(() =>
    measure("inline run through the supervisor, read by a one-stage Stream", () => Effect.runPromise(oneRunOneStage))
  )
})

Effect.runPromise(
  main.pipe(Effect.provide(
    Layer.mergeAll(RunSupervisor.Default, InlineRunner.layer, ProviderRegistry.layer).pipe(
      Layer.provide(GatewayConfig.layerTest(input))
    )
  ))
).catch((error) => {
  console.error(error)
  process.exitCode = 1
})
