/**
 * Real providers through the whole gateway: the config points `baseUrl` at local fake servers that
 * speak each API's wire format, runs go through worker threads (which build their own providers from
 * the config), and the client sees the same text the recording streams.
 */
import { describe, expect, it } from "@effect/vitest"
import { Chunk, Effect, Either, Stream } from "effect"
import { GatewayClient } from "../src/Client/GatewayClient.js"
import type { AgentEvent } from "../src/Domain/AgentEvent.js"
import * as FakeAnthropic from "./support/FakeAnthropic.js"
import * as FakeOpenAi from "./support/FakeOpenAi.js"
import { startInProcessGateway } from "./support/TestGateway.js"

const text = (events: ReadonlyArray<AgentEvent>) =>
  events.flatMap((event) => (event._tag === "TokenDelta" ? [event.text] : [])).join("")

type Client = Effect.Effect.Success<typeof GatewayClient>

const collect = (spec: Parameters<Client["startRun"]>[0]) =>
  Effect.flatMap(GatewayClient, (client) => Stream.runCollect(client.startRun(spec)).pipe(Effect.map(Chunk.toReadonlyArray)))

describe("providers through the gateway", () => {
  it.live("openai (chat) and anthropic runs stream the recorded text from worker threads; keys stay secret", () =>
    Effect.gen(function*() {
      const openai = yield* FakeOpenAi.make
      const anthropic = yield* FakeAnthropic.make
      const gateway = yield* startInProcessGateway({
        models: {
          providers: {
            openai: { apiKey: "sk-openai-secret", baseUrl: openai.baseUrl, model: "gpt-test", maxRetries: 0 },
            anthropic: { apiKey: "sk-ant-secret", baseUrl: anthropic.baseUrl, model: "claude-test", maxRetries: 0 }
          }
        }
      })
      openai.reply(FakeOpenAi.eventStream(FakeOpenAi.chatTextSteps(["Bonjour", " à", " tous"])))
      anthropic.reply(FakeAnthropic.textReply(["Hello", " from", " Claude"]))
      yield* Effect.gen(function*() {
        // No models.default: the first provider with a key is the default.
        const fromOpenAi = yield* collect({ prompt: "say hi" })
        expect(text(fromOpenAi)).toBe("Bonjour à tous")
        expect(fromOpenAi.find((event) => event._tag === "RunStarted")).toMatchObject({
          mode: "thread-bound",
          model: "openai/gpt-test"
        })
        const fromAnthropic = yield* collect({ prompt: "say hi", model: "anthropic/claude-test", mode: "inline" })
        expect(text(fromAnthropic)).toBe("Hello from Claude")
      }).pipe(Effect.provide(GatewayClient.layer({ url: gateway.url, token: gateway.token })))
      const [openaiRequest] = openai.requests()
      expect(openaiRequest?.headers["authorization"]).toBe("Bearer sk-openai-secret")
      expect(openaiRequest?.json).toMatchObject({ model: "gpt-test", stream: true })
      const [anthropicRequest] = anthropic.requests()
      expect(anthropicRequest?.headers["x-api-key"]).toBe("sk-ant-secret")
      expect(anthropicRequest?.json).toMatchObject({ model: "claude-test" })
    }).pipe(Effect.scoped))

  it.live("a provider error reaches the client as ProviderFailed without the key; no key means InvalidRequest", () =>
    Effect.gen(function*() {
      const openai = yield* FakeOpenAi.make
      const gateway = yield* startInProcessGateway({
        models: {
          providers: {
            openai: { apiKey: "sk-openai-secret", baseUrl: openai.baseUrl, maxRetries: 0 },
            anthropic: { baseUrl: "http://127.0.0.1:9" }
          }
        }
      })
      openai.reply(FakeOpenAi.chatErrorReply(401, "Incorrect API key provided: sk-openai-secret"))
      yield* Effect.gen(function*() {
        const failed = yield* Effect.either(collect({ prompt: "x", model: "openai/gpt-test" }))
        expect(Either.isLeft(failed) && failed.left._tag).toBe("ProviderFailed")
        if (Either.isLeft(failed) && failed.left._tag === "ProviderFailed") {
          expect(failed.left.status).toBe(401)
          expect(JSON.stringify(failed.left)).not.toContain("sk-openai-secret")
          expect(failed.left.message).not.toContain("sk-openai-secret")
        }
        const refused = yield* Effect.either(collect({ prompt: "x", model: "anthropic/claude-test" }))
        expect(Either.isLeft(refused) && refused.left._tag === "InvalidRequest" && refused.left.message).toMatch(
          /provider "anthropic" has no API key/
        )
      }).pipe(Effect.provide(GatewayClient.layer({ url: gateway.url, token: gateway.token })))
    }).pipe(Effect.scoped))

  it.live("a 429 with Retry-After before the first token is retried after that wait; the run then streams", () =>
    Effect.gen(function*() {
      const openai = yield* FakeOpenAi.make
      const gateway = yield* startInProcessGateway({
        models: { providers: { openai: { apiKey: "sk-openai-secret", baseUrl: openai.baseUrl, maxRetries: 2 } } }
      })
      openai.reply(
        FakeOpenAi.chatErrorReply(429, "Rate limit reached", { headers: { "retry-after": "1" } }),
        FakeOpenAi.eventStream(FakeOpenAi.chatTextSteps(["after ", "the wait"]))
      )
      const started = Date.now()
      const events = yield* collect({ prompt: "x" }).pipe(
        Effect.provide(GatewayClient.layer({ url: gateway.url, token: gateway.token }))
      )
      expect(text(events)).toBe("after the wait")
      expect(openai.requests()).toHaveLength(2)
      expect(Date.now() - started).toBeGreaterThanOrEqual(1000)
      // The retry was logged in the worker thread and written by the gateway's logger, with the run and the thread.
      const runId = events[0]?.runId
      const logs = yield* Stream.runCollect(
        Stream.unwrap(Effect.map(GatewayClient, (client) => client.tailLogs({ level: "warning", runId })))
      ).pipe(Effect.provide(GatewayClient.layer({ url: gateway.url, token: gateway.token })))
      const retry = Chunk.toReadonlyArray(logs).find((entry) => entry.message.includes("retry 1/2"))
      expect(retry?.annotations).toMatchObject({ provider: "openai", thread: expect.any(String) })
      expect(retry?.message).not.toContain("sk-openai-secret")
    }).pipe(Effect.scoped))
})
