/**
 * Where the gateway's CPU goes before any socket: process CPU per run and per token of (1) the mock provider's
 * `streamText` alone and (2) whole inline runs through the run supervisor (agent loop, numbering, mailbox), drained
 * in-process. Not part of `npm run bench`; for profiling (`node --cpu-prof`). Every loop is bounded in count.
 *
 *   tsc -p bench/tsconfig.json && TOKENS=20 TOKEN_MS=0 RUNS=500 CONCURRENCY=10 \
 *     node node_modules/.cache/openclaw-bench/bench/transport-costs.js
 */
import { Effect, Layer, Mailbox, Stream } from "effect"
import { performance } from "node:perf_hooks"
import { RunSupervisor } from "../src/Agents/RunSupervisor.js"
import * as AgentTools from "../src/Agents/AgentTools.js"
import { GatewayConfig } from "../src/Config/GatewayConfig.js"
import { StartRun } from "../src/Domain/RunSpec.js"
import * as MockLanguageModel from "../src/Llm/MockLanguageModel.js"

const env = (name: string, fallback: number) => Number(process.env[name] ?? fallback)
const tokens = env("TOKENS", 20)
const runs = env("RUNS", 500)
const concurrency = env("CONCURRENCY", 10)
/** The mock's delays (first token and between tokens); 0 yields every token in one chunk. */
const tokenMs = env("TOKEN_MS", 0)

const words = ["the", "gateway", "streams", "each", "token", "to"]
const reply = Array.from({ length: tokens }, (_, i) => words[i % words.length]).join(" ")
const input = { models: { providers: { mock: { firstTokenDelayMs: tokenMs, tokenDelayMs: tokenMs, reply } } } }
const cpuMs = () => {
  const usage = process.cpuUsage()
  return (usage.user + usage.system) / 1000
}

const measure = async (name: string, one: () => Promise<void>) => {
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

const main = Effect.gen(function*() {
  const model = yield* MockLanguageModel.make(GatewayConfig.fromInput(input).config.models.providers.mock)
  yield* Effect.promise(() =>
    measure("mock streamText alone", () => Effect.runPromise(Stream.runDrain(model.streamText({ prompt: "bench" }))))
  )
  yield* Effect.promise(() =>
    measure("@effect/ai streamText with the agents' toolkit (the agent loop avoids it since e4a7cbe)", () =>
      Effect.runPromise(
        Stream.runDrain(
          model.streamText({ prompt: "bench", toolkit: AgentTools.toolkit, disableToolCallResolution: true })
        )
      ))
  )
  const supervisor = yield* RunSupervisor
  const oneRun = Effect.scoped(Effect.gen(function*() {
    const run = yield* supervisor.start(new StartRun({ prompt: "bench", mode: "inline" }))
    yield* Stream.runDrain(Mailbox.toStream(run.events))
  }))
  yield* Effect.promise(() => measure("inline run through the supervisor", () => Effect.runPromise(oneRun)))
})

Effect.runPromise(
  main.pipe(Effect.provide(RunSupervisor.Default.pipe(Layer.provide(GatewayConfig.layerTest(input)))))
).catch((error) => {
  console.error(error)
  process.exitCode = 1
})
