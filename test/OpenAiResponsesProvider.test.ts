/**
 * The OpenAI Responses provider over real loopback HTTP (undici) against the scripted fake Responses API: streamed
 * text and function calls reassembled, usage, every failure an `AiError` (error and response.failed events, 429 with
 * retry-after, 500, cut connections, refused connections) without the key, interruption closing the connection.
 * The fake's events are checked to decode first. The codex agent's tool round trip on this provider is in
 * test/AgentSuite.test.ts.
 */
import type { AiError } from "@effect/ai"
import { OpenAiClient } from "@effect/ai-openai"
import { NodeHttpClient } from "@effect/platform-node"
import { describe, expect, it, layer } from "@effect/vitest"
import { Effect, Either, Redacted, Schema } from "effect"
import * as OpenAiResponsesProvider from "../src/Llm/OpenAiResponsesProvider.js"
import * as Fake from "./support/FakeOpenAiResponses.js"
import { failureCases } from "./support/ProviderFailureCases.js"
import { collect, expectNoSecret, failureFree, failureOf, textOf } from "./support/ProviderStreams.js"

const apiKey = "sk-proj-test-0123456789-SECRET"

const setup = Effect.gen(function*() {
  const server = yield* Fake.make
  const models = yield* OpenAiResponsesProvider.make({ apiKey: Redacted.make(apiKey), baseUrl: server.baseUrl })
  return { server, model: models("gpt-test") }
})

const expectNoKey = (error: AiError.AiError) => expectNoSecret(error, apiKey)

/** The JSON of every `data:` line the reply would send. */
const dataOf = (reply: Fake.Reply): ReadonlyArray<unknown> =>
  reply.steps.flatMap((step) =>
    step._tag === "Write" && typeof step.chunk === "string"
      ? step.chunk.split("\n").flatMap((line) => line.startsWith("data: ") ? [JSON.parse(line.slice(6))] : [])
      : []
  )

describe("FakeOpenAiResponses", () => {
  it("scripts only events that @effect/ai-openai decodes (it skips the others silently)", () => {
    const seq = Fake.sequencer()
    const replies = [
      Fake.textReply(["a", "b"]),
      Fake.functionCallReply({ callId: "call_1", name: "write_file", fragments: ["{}"] }),
      Fake.eventStream([Fake.errorEvent(seq, "server_error", "boom"), Fake.failed(seq, "server_error", "failed")])
    ]
    for (const data of replies.flatMap(dataOf)) {
      const decoded = Schema.decodeUnknownEither(OpenAiClient.ResponseStreamEvent)(data)
      if (Either.isLeft(decoded)) throw new Error(`${JSON.stringify(data)}\n${decoded.left.message}`)
    }
  })
})

layer(NodeHttpClient.layerUndici, { excludeTestServices: true })("OpenAiResponsesProvider", (it) => {
  it.scoped("streams text exactly (split UTF-8, many deltas), usage, and sends the key as a bearer token", () =>
    Effect.gen(function*() {
      const { server, model } = yield* setup
      const many = Array.from({ length: 200 }, (_, index) => String.fromCharCode(97 + (index % 26)))
      const seq = Fake.sequencer()
      const pieces = ["Hello, ", "Grüße 🌍 ", ...many, "€nd"]
      const steps = Fake.message(seq, { id: "msg_1", outputIndex: 0, pieces })
      server.reply(Fake.eventStream([
        Fake.created(seq),
        Fake.inProgress(seq),
        // The deltas with multi-byte characters arrive split inside a character.
        ...steps.flatMap((step, index) => index === 3 || index === 204 ? Fake.splitUtf8(step) : [step]),
        Fake.completed(seq, { inputTokens: 31, outputTokens: 207 })
      ]))
      const parts = failureFree(yield* collect(model))
      expect(textOf(parts)).toBe(`Hello, Grüße 🌍 ${many.join("")}€nd`)
      expect(parts.filter((part) => part.type === "error")).toEqual([])
      const finish = parts.find((part) => part.type === "finish")
      expect(finish?.type === "finish" && [finish.reason, finish.usage.inputTokens, finish.usage.outputTokens])
        .toEqual(["stop", 31, 207])

      const [request] = server.requests()
      expect(request?.method).toBe("POST")
      expect(request?.path).toBe("/v1/responses")
      expect(request?.headers["authorization"]).toBe(`Bearer ${apiKey}`)
      expect(request?.headers["x-api-key"]).toBeUndefined()
      expect(request?.json).toMatchObject({ model: "gpt-test", stream: true })
      const tools = JSON.stringify(request?.json)
      for (const name of ["shell", "read_file", "write_file", "list_dir", "spawn_subagent"]) {
        expect(tools).toContain(`"name":"${name}"`)
      }
    }))

  it.scoped("reassembles function_call_arguments fragments into one tool call with parsed params", () =>
    Effect.gen(function*() {
      const { server, model } = yield* setup
      server.reply(Fake.functionCallReply({
        callId: "call_01A",
        name: "write_file",
        fragments: ["{\"path\": \"no", "tes/a.txt\", \"con", "tent\": \"h", "é", "llo\\nworld\"}"]
      }))
      const parts = failureFree(yield* collect(model))
      const calls = parts.flatMap((part) => part.type === "tool-call" ? [part] : [])
      expect(calls.map(({ id, name, params }) => ({ id, name, params }))).toEqual([
        { id: "call_01A", name: "write_file", params: { path: "notes/a.txt", content: "héllo\nworld" } }
      ])
      const deltas = parts.flatMap((part) => part.type === "tool-params-delta" ? [part.delta] : [])
      expect(deltas.join("")).toBe("{\"path\": \"notes/a.txt\", \"content\": \"héllo\\nworld\"}")
      expect(textOf(parts)).toBe("Let me do that.")
      const finish = parts.find((part) => part.type === "finish")
      expect(finish?.type === "finish" && [finish.reason, finish.usage.outputTokens]).toEqual(["tool-calls", 40])
    }))

  it.scoped("an error event mid-stream fails the stream with an AiError carrying its message", () =>
    Effect.gen(function*() {
      const { server, model } = yield* setup
      const seq = Fake.sequencer()
      server.reply(Fake.eventStream([
        Fake.created(seq),
        ...Fake.message(seq, { id: "msg_1", outputIndex: 0, pieces: ["Partial"] }).slice(0, 3),
        Fake.errorEvent(seq, "server_error", "The server had an error while processing your request")
      ]))
      const error = failureOf(yield* collect(model))
      expect(error._tag).toBe("UnknownError")
      expect(error.message).toContain("server_error: The server had an error while processing your request")
      expectNoKey(error)
    }))

  it.scoped("response.failed fails the stream with the response's error", () =>
    Effect.gen(function*() {
      const { server, model } = yield* setup
      const seq = Fake.sequencer()
      server.reply(Fake.eventStream([Fake.created(seq), Fake.failed(seq, "server_error", "Something went wrong")]))
      const error = failureOf(yield* collect(model))
      expect(error.message).toContain("server_error: Something went wrong")
    }))

  failureCases(it, {
    apiKey,
    keyHeader: "authorization",
    modelAt: (baseUrl) =>
      Effect.map(
        OpenAiResponsesProvider.make({ apiKey: Redacted.make(apiKey), baseUrl }),
        (models) => models("gpt-test")
      ),
    server: Fake.make,
    rateLimited: (message, retryAfter) => Fake.errorReply(429, "requests", message, { "retry-after": retryAfter }),
    serverError: (message) => Fake.errorReply(500, "server_error", message),
    startOfText: (text) => {
      const seq = Fake.sequencer()
      return [Fake.created(seq), ...Fake.message(seq, { id: "msg_1", outputIndex: 0, pieces: [text] }).slice(0, 3)]
    },
    terminalEvent: "response.completed"
  })
})
