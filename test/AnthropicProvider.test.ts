/**
 * The Anthropic provider over real loopback HTTP (undici) against the scripted fake Messages API: streamed text and
 * tool calls reassembled, usage, pings, every failure an `AiError` (stream error events, 429 with retry-after, 500,
 * cut connections, refused connections) without the key, and interruption closing the connection (the codex
 * agent's tool round trip on this provider is in test/AgentSuite.test.ts).
 */
import type { AiError } from "@effect/ai"
import { NodeHttpClient } from "@effect/platform-node"
import { expect, layer } from "@effect/vitest"
import { Effect, Redacted } from "effect"
import * as AnthropicProvider from "../src/Llm/AnthropicProvider.js"
import * as Fake from "./support/FakeAnthropic.js"
import { failureCases } from "./support/ProviderFailureCases.js"
import { collect, expectNoSecret, failureFree, failureOf, textOf } from "./support/ProviderStreams.js"

const apiKey = "sk-ant-test-0123456789-SECRET"

const setup = Effect.gen(function*() {
  const server = yield* Fake.make
  const models = yield* AnthropicProvider.make({
    apiKey: Redacted.make(apiKey),
    baseUrl: server.baseUrl,
    maxTokens: 1234
  })
  return { server, model: models("claude-test") }
})

const expectNoKey = (error: AiError.AiError) => expectNoSecret(error, apiKey)

layer(NodeHttpClient.layerUndici, { excludeTestServices: true })("AnthropicProvider", (it) => {
  it.scoped("streams text exactly (split UTF-8, many deltas, pings), usage, and sends the key as x-api-key", () =>
    Effect.gen(function*() {
      const { server, model } = yield* setup
      const many = Array.from({ length: 200 }, (_, index) => String.fromCharCode(97 + (index % 26)))
      server.reply(Fake.eventStream([
        Fake.messageStart({ inputTokens: 31 }),
        Fake.ping,
        Fake.textBlockStart(0),
        Fake.textDelta(0, "Hello, "),
        ...Fake.splitUtf8(Fake.textDelta(0, "Grüße 🌍 ")),
        Fake.ping,
        ...many.map((letter) => Fake.textDelta(0, letter)),
        ...Fake.splitUtf8(Fake.textDelta(0, "€nd")),
        Fake.contentBlockStop(0),
        Fake.ping,
        Fake.messageDelta("end_turn", 207),
        Fake.messageStop
      ]))
      const parts = failureFree(yield* collect(model))
      expect(textOf(parts)).toBe(`Hello, Grüße 🌍 ${many.join("")}€nd`)
      expect(parts.filter((part) => part.type === "error")).toEqual([])
      const finish = parts.find((part) => part.type === "finish")
      expect(finish?.type === "finish" && [finish.reason, finish.usage.inputTokens, finish.usage.outputTokens])
        .toEqual(["stop", 31, 207])

      const [request] = server.requests()
      expect(request?.method).toBe("POST")
      expect(request?.path).toBe("/v1/messages")
      expect(request?.headers["x-api-key"]).toBe(apiKey)
      expect(request?.headers["anthropic-version"]).toBe("2023-06-01")
      expect(request?.headers["authorization"]).toBeUndefined()
      expect(request?.json).toMatchObject({
        model: "claude-test",
        max_tokens: 1234,
        stream: true,
        messages: [{ role: "user", content: [{ type: "text", text: "hi" }] }]
      })
      const tools = JSON.stringify(request?.json)
      for (const name of ["shell", "read_file", "write_file", "list_dir", "spawn_subagent"]) {
        expect(tools).toContain(`"name":"${name}"`)
      }
    }))

  it.scoped("reassembles input_json_delta fragments into one tool call with parsed params", () =>
    Effect.gen(function*() {
      const { server, model } = yield* setup
      server.reply(Fake.toolUseReply({
        id: "toolu_01A",
        name: "write_file",
        fragments: ["{\"path\": \"no", "tes/a.txt\", \"con", "tent\": \"h", "é", "llo\\nworld\"}"]
      }))
      const parts = failureFree(yield* collect(model))
      const calls = parts.flatMap((part) => part.type === "tool-call" ? [part] : [])
      expect(calls.map(({ id, name, params }) => ({ id, name, params }))).toEqual([
        { id: "toolu_01A", name: "write_file", params: { path: "notes/a.txt", content: "héllo\nworld" } }
      ])
      expect(textOf(parts)).toBe("Let me do that.")
      const finish = parts.find((part) => part.type === "finish")
      expect(finish?.type === "finish" && finish.reason).toBe("tool-calls")
    }))

  it.scoped("an error event mid-stream fails the stream with an AiError carrying its message", () =>
    Effect.gen(function*() {
      const { server, model } = yield* setup
      server.reply(Fake.eventStream([
        Fake.messageStart({}),
        Fake.textBlockStart(0),
        Fake.textDelta(0, "Partial"),
        Fake.errorEvent("overloaded_error", "Overloaded")
      ]))
      const error = failureOf(yield* collect(model))
      expect(error._tag).toBe("UnknownError")
      expect(error.message).toContain("overloaded_error: Overloaded")
      expectNoKey(error)
    }))

  failureCases(it, {
    apiKey,
    keyHeader: "x-api-key",
    modelAt: (baseUrl) =>
      Effect.map(
        AnthropicProvider.make({ apiKey: Redacted.make(apiKey), baseUrl, maxTokens: 10 }),
        (models) => models("claude-test")
      ),
    server: Fake.make,
    rateLimited: (message, retryAfter) => Fake.errorReply(429, "rate_limit_error", message, { "retry-after": retryAfter }),
    serverError: (message) => Fake.errorReply(500, "api_error", message),
    startOfText: (text) => [Fake.messageStart({}), Fake.textBlockStart(0), Fake.textDelta(0, text)],
    terminalEvent: "message_stop"
  })
})
