/**
 * CPU of one model turn through a real provider's code, as the agents take it (`Agents/ModelTurn` on the registry's
 * resolved model, resilience wrapper included), against a loopback server that answers every request with the same
 * short Chat Completions stream: what a turn costs the gateway beyond the bytes. Not part of `npm run bench`; for
 * profiling (`node --cpu-prof`). Every loop is bounded in count.
 *
 *   tsc -p bench/tsconfig.json && TURNS=500 node node_modules/.cache/openclaw-bench/bench/provider-turn-costs.js
 */
import * as Prompt from "@effect/ai/Prompt"
import { Effect } from "effect"
import * as http from "node:http"
import * as AgentTools from "../src/Agents/AgentTools.js"
import { runTurn } from "../src/Agents/ModelTurn.js"
import { GatewayConfig } from "../src/Config/GatewayConfig.js"
import * as ProviderRegistry from "../src/Llm/ProviderRegistry.js"

const turns = Number(process.env["TURNS"] ?? 500)

/** One `data:` frame of a Chat Completions stream with these choices (and usage, in the last one). */
const frame = (choices: ReadonlyArray<object>, usage?: object) =>
  `data: ${
    JSON.stringify({
      id: "chatcmpl-bench",
      object: "chat.completion.chunk",
      created: 0,
      model: "gpt-bench",
      choices,
      ...(usage === undefined ? {} : { usage })
    })
  }\n\n`
const choice = (delta: object, finish: string | null) => [{ index: 0, delta, finish_reason: finish }]
const body = frame(choice({ role: "assistant", content: "" }, null)) + frame(choice({ content: "ok" }, null)) +
  frame(choice({}, "stop")) + frame([], { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 }) +
  "data: [DONE]\n\n"

const cpuMs = () => {
  const usage = process.cpuUsage()
  return (usage.user + usage.system) / 1000
}

const server = http.createServer((request, response) => {
  request.resume()
  request.on("end", () => response.writeHead(200, { "content-type": "text/event-stream" }).end(body))
})
await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
const address = server.address()
const port = typeof address === "object" && address !== null ? address.port : 0

const main = Effect.gen(function*() {
  const model = yield* Effect.flatMap(ProviderRegistry.ProviderRegistry, (registry) => registry.resolve(undefined))
  const turn = runTurn(model, Prompt.make("bench"), AgentTools.toolkit, () => Effect.void)
  for (let i = 0; i < 50; i++) yield* turn
  const before = cpuMs()
  const started = performance.now()
  for (let i = 0; i < turns; i++) yield* turn
  const perTurn = (cpuMs() - before) / turns
  console.log(
    `one model turn through the openai (chat) provider: ${perTurn.toFixed(3)} ms CPU per turn ` +
      `(${turns} turns one after another, wall ${((performance.now() - started) / turns).toFixed(3)} ms per turn; ` +
      `the loopback server's share included)`
  )
}).pipe(
  Effect.provide(ProviderRegistry.layer),
  Effect.provide(GatewayConfig.layerTest({
    models: {
      default: "openai/gpt-bench",
      providers: { openai: { apiKey: "sk-bench", baseUrl: `http://127.0.0.1:${port}/v1`, api: "chat" } }
    }
  }))
)

Effect.runPromise(main).then(
  () => server.close(),
  (error: unknown) => {
    console.error(error)
    server.close()
    process.exitCode = 1
  }
)
