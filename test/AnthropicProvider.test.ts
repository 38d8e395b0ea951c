/**
 * The Anthropic provider over real loopback HTTP (undici) against the scripted fake Messages API: streamed text and
 * tool calls reassembled, usage, pings, every failure an `AiError` (stream error events, 429 with retry-after, 500,
 * cut connections, refused connections) without the key, and interruption closing the connection (the codex
 * agent's tool round trip on this provider is in test/AgentSuite.test.ts).
 */
import type { AiError } from "@effect/ai"
import { NodeHttpClient } from "@effect/platform-node"
import { expect, layer } from "@effect/vitest"
import { Effect, Fiber, Redacted, Stream } from "effect"
import * as AnthropicProvider from "../src/Llm/AnthropicProvider.js"
import * as Fake from "./support/FakeAnthropic.js"
import { collect, expectNoSecret, failureFree, failureOf, stream, textOf } from "./support/ProviderStreams.js"

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

  it.scoped("429: an HttpResponseError with the status, the retry-after header and the body, without the key", () =>
    Effect.gen(function*() {
      const { server, model } = yield* setup
      server.reply(
        Fake.errorReply(429, "rate_limit_error", "Number of request tokens has exceeded your rate limit", {
          "retry-after": "7"
        })
      )
      const error = failureOf(yield* collect(model))
      expect(error._tag).toBe("HttpResponseError")
      if (error._tag !== "HttpResponseError") return
      expect(error.response.status).toBe(429)
      expect(error.response.headers["retry-after"]).toBe("7")
      expect(error.message).toContain("rate_limit_error")
      // The request as reported keeps its headers but not the key's value.
      expect(error.request.headers["x-api-key"]).toBe("<redacted>")
      expectNoKey(error)
    }))

  it.scoped("500: an HttpResponseError with the status", () =>
    Effect.gen(function*() {
      const { server, model } = yield* setup
      server.reply(Fake.errorReply(500, "api_error", "Internal server error"))
      const error = failureOf(yield* collect(model))
      expect(error._tag === "HttpResponseError" && error.response.status).toBe(500)
      expect(error.message).toContain("Internal server error")
      expectNoKey(error)
    }))

  it.scoped("a connection cut mid-stream fails with an AiError instead of hanging", () =>
    Effect.gen(function*() {
      const { server, model } = yield* setup
      server.reply(
        Fake.eventStream([
          Fake.messageStart({}),
          Fake.textBlockStart(0),
          Fake.textDelta(0, "Hel"),
          Fake.pause(20),
          Fake.cut
        ])
      )
      const error = failureOf(yield* collect(model))
      // undici reports the cut while the body is read: a "Decode" response error with the 200 already received.
      expect(error._tag === "HttpResponseError" && [error.reason, error.response.status]).toEqual(["Decode", 200])
      expect(error.message).toContain("the connection was cut")
      expectNoKey(error)
    }))

  it.scoped("a body that ends cleanly before message_stop fails too", () =>
    Effect.gen(function*() {
      const { server, model } = yield* setup
      server.reply(Fake.eventStream([Fake.messageStart({}), Fake.textBlockStart(0), Fake.textDelta(0, "Hel")]))
      const error = failureOf(yield* collect(model))
      expect(error.message).toContain("the stream ended before message_stop")
    }))

  it.scoped("a refused connection is an HttpRequestError without the key, even in its cause", () =>
    Effect.gen(function*() {
      const closedOrigin = yield* Effect.scoped(Effect.map(Fake.make, (server) => server.origin))
      const models = yield* AnthropicProvider.make({
        apiKey: Redacted.make(apiKey),
        baseUrl: closedOrigin,
        maxTokens: 10
      })
      const error = failureOf(yield* collect(models("claude-test")))
      expect(error._tag).toBe("HttpRequestError")
      expectNoKey(error)
    }))

  it.scoped("interrupting the stream closes the HTTP connection", () =>
    Effect.gen(function*() {
      const { server, model } = yield* setup
      server.reply(
        Fake.eventStream([Fake.messageStart({}), Fake.textBlockStart(0), Fake.textDelta(0, "first"), Fake.hang])
      )
      let received = ""
      const fiber = yield* stream(model).pipe(
        Stream.runForEach((part) => Effect.sync(() => (received += part.type === "text-delta" ? part.delta : ""))),
        Effect.fork
      )
      while (received === "") yield* Effect.sleep(5)
      expect(server.earlyDisconnects()).toBe(0)
      yield* Fiber.interrupt(fiber)
      yield* server.awaitEarlyDisconnects(1).pipe(Effect.timeout("5 seconds"))
      expect(server.earlyDisconnects()).toBe(1)
    }))
})
