/**
 * A model turn through a provider's raw parts (decoded with the cached schema) gives exactly what the library's
 * `streamText` gives: text, tool calls and usage alike, and the same typed failure for parts that do not decode.
 */
import { AiError, Prompt, Response } from "@effect/ai"
import { Effect, Either, Schema, Stream } from "effect"
import { describe, expect, it } from "vitest"
import { GatewayConfig } from "../src/Config/GatewayConfig.js"
import { rawPartsOf, type ResolvedModel } from "../src/Llm/ProviderRegistry.js"
import * as MockLanguageModel from "../src/Llm/MockLanguageModel.js"
import { turnParts } from "./support/ProviderStreams.js"

const mockConfig = GatewayConfig.fromInput({
  models: {
    providers: {
      mock: {
        firstTokenDelayMs: 0,
        tokenDelayMs: 0,
        toolCalls: [{ name: "shell", params: { command: "echo hi" } }]
      }
    }
  }
}).config.models.providers.mock

const models = Effect.map(MockLanguageModel.make(mockConfig), (languageModel) => {
  const library: ResolvedModel = { id: "mock/mock-1", provider: "mock", model: "mock-1", languageModel }
  const raw: ResolvedModel = {
    ...library,
    rawParts: (options, onParts) => MockLanguageModel.pushParts(mockConfig, options, onParts)
  }
  return { library, raw }
})

/** Parts without the ids the library and the mock generate per call. */
const turn = (model: ResolvedModel) =>
  turnParts(model, Prompt.make("hello")).pipe(
    Effect.map((parts) =>
      parts.map((part) => {
        const { id: _id, ...rest } = "id" in part ? part : { id: undefined, ...part }
        return rest
      })
    )
  )

describe("ModelTurn.runTurn", () => {
  it("decodes a provider's raw parts exactly as LanguageModel.streamText does, tool calls included", async () => {
    const [library, raw] = await Effect.runPromise(
      Effect.flatMap(models, (m) => Effect.all([turn(m.library), turn(m.raw)]))
    )
    expect(raw).toEqual(library)
    expect(raw.some((part) => part.type === "tool-call")).toBe(true)
    expect(raw.filter((part) => part.type === "text-delta").length).toBeGreaterThan(3)
  })

  it("fails with AiError.MalformedOutput when the raw parts do not decode (a call of a tool not offered)", async () => {
    const unknownTool: Response.ToolCallPartEncoded = {
      type: "tool-call",
      id: "1",
      name: "no_such_tool",
      params: {},
      providerExecuted: false
    }
    const outcome = await Effect.runPromise(
      Effect.flatMap(models, (m) =>
        Effect.either(turn({ ...m.raw, rawParts: rawPartsOf(() => Stream.make(unknownTool)) })))
    )
    expect(Either.isLeft(outcome) && outcome.left instanceof AiError.MalformedOutput).toBe(true)
  })

  it("builds a finish part as the decoder does, and leaves one it cannot check to the decoder, which refuses it", async () => {
    const usage = { inputTokens: 1, outputTokens: 2, totalTokens: 3 }
    const plain: Response.FinishPartEncoded = { type: "finish", reason: "stop", usage }
    const withMetadata: Response.FinishPartEncoded = { ...plain, metadata: { mock: { note: "x" } } }
    // Not a reason the type allows: what a confused provider could send.
    const unknownReason: Response.FinishPartEncoded = JSON.parse(JSON.stringify({ ...plain, reason: "bored" }))
    const outcomes = await Effect.runPromise(
      Effect.flatMap(models, (m) =>
        Effect.forEach([plain, withMetadata, unknownReason], (part) =>
          Effect.either(turn({ ...m.raw, rawParts: rawPartsOf(() => Stream.make(part)) }))))
    )
    const decoded = (part: Response.FinishPartEncoded) => Either.right([Schema.decodeSync(Response.FinishPart)(part)])
    const [plainOutcome, metadataOutcome, unknownOutcome] = outcomes
    expect(plainOutcome).toEqual(decoded(plain))
    expect(metadataOutcome).toEqual(decoded(withMetadata))
    expect(unknownOutcome !== undefined && Either.isLeft(unknownOutcome) && unknownOutcome.left).toBeInstanceOf(
      AiError.MalformedOutput
    )
  })
})
