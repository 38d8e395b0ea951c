// How much one model turn costs with the codex toolkit (mock model, zero delays): the library's streamText
// (schema rebuilt per call) against Agents/ModelTurn's cached decoder.
import { Prompt } from "@effect/ai"
import { Effect, Stream } from "effect"
import { toolkit } from "../src/Agents/AgentTools.js"
import { streamTurn } from "../src/Agents/ModelTurn.js"
import { GatewayConfig } from "../src/Config/GatewayConfig.js"
import * as MockLanguageModel from "../src/Llm/MockLanguageModel.js"

const config = GatewayConfig.fromInput({ models: { providers: { mock: { firstTokenDelayMs: 0, tokenDelayMs: 0 } } } }).config
const mock = config.models.providers.mock
const program = Effect.gen(function*() {
  const languageModel = yield* MockLanguageModel.make(mock)
  const base = { id: "mock/mock-1", provider: "mock", model: "mock-1", languageModel }
  const withRaw = { ...base, rawStream: (options: Parameters<typeof MockLanguageModel.streamParts>[1]) => MockLanguageModel.streamParts(mock, options) }
  for (const [name, model] of [["library streamText", base], ["ModelTurn (cached decoder)", withRaw]] as const) {
    const once = Stream.runDrain(streamTurn(model, Prompt.make("hello"), toolkit))
    for (let i = 0; i < 20; i++) yield* once
    const n = 200
    const start = performance.now()
    for (let i = 0; i < n; i++) yield* once
    console.log(name, ((performance.now() - start) / n).toFixed(3), "ms per turn")
  }
})
Effect.runPromise(Effect.scoped(program))
