/**
 * The Chat Completions provider against a fake OpenAI server over real loopback HTTP (undici): streamed text
 * reassembled exactly (UTF-8 characters split across TCP writes, keep-alive comments), tool calls reassembled from
 * argument fragments, usage, the request it sends, every failure as an AiError (error event, 429 with Retry-After,
 * 500, cut connection, malformed arguments), cancellation closing the connection, and the codex agent's tool loop
 * running on it. The SSE decoder is also tested on its own with every byte in its own chunk.
 */
import { type AiError, type LanguageModel, Prompt, type Response } from "@effect/ai"
import { NodeHttpClient } from "@effect/platform-node"
import { describe, expect, it, layer } from "@effect/vitest"
import { Chunk, Deferred, Effect, Either, Fiber, Layer, Redacted, Stream } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import type { AgentContext } from "../src/Agents/Agent.js"
import * as AgentTools from "../src/Agents/AgentTools.js"
import { CodexAgent } from "../src/Agents/CodexAgent.js"
import * as InlineSubagents from "../src/Agents/InlineSubagents.js"
import * as Tools from "../src/Agents/Tools.js"
import { RunId } from "../src/Domain/Ids.js"
import { StartRun } from "../src/Domain/RunSpec.js"
import * as OpenAiChat from "../src/Llm/OpenAiChat.js"
import * as Wire from "../src/Llm/OpenAiChatWire.js"
import { rawPartsOf, type ResolvedModel } from "../src/Llm/ProviderRegistry.js"
import { runAgent } from "./support/AgentRuns.js"
import * as Fake from "./support/FakeOpenAi.js"
import { turnParts } from "./support/ProviderStreams.js"

const secret = "sk-test-0123456789-do-not-leak"
const apiKey = Redacted.make(secret)

const modelOn = (fake: Fake.FakeOpenAi) =>
  Effect.map(OpenAiChat.make({ apiKey, baseUrl: fake.baseUrl }), (models) => models.languageModel("gpt-fake"))

const userPrompt = (text: string) => Prompt.fromMessages([Prompt.userMessage({ content: [Prompt.textPart({ text })] })])

/** Streams one turn with the agents' toolkit (tool calls not resolved, as the agent loop does). */
const streamTurn = (model: LanguageModel.Service, prompt: Prompt.Prompt) =>
  model.streamText({ prompt, toolkit: AgentTools.toolkit, disableToolCallResolution: true }).pipe(
    Stream.runCollect,
    Effect.map(Chunk.toReadonlyArray)
  )

/** Streams one turn without tools and returns how it ended: its parts, or the error. */
const streamEither = (model: LanguageModel.Service, prompt: Prompt.Prompt) =>
  model.streamText({ prompt }).pipe(Stream.runCollect, Effect.map(Chunk.toReadonlyArray), Effect.either)

type Part = Response.StreamPart<Record<string, never>> | Response.StreamPart<typeof AgentTools.toolkit.tools>

const textOf = (parts: ReadonlyArray<Part>) =>
  parts.flatMap((part) => part.type === "text-delta" ? [part.delta] : []).join("")

/** Everything an error shows: its message, its string form and its JSON (with its cause). */
const everythingShown = (error: AiError.AiError) =>
  `${error.message}\n${String(error)}\n${JSON.stringify(error)}\n${JSON.stringify(error.toJSON())}`

const bodyOf = (request: Fake.RecordedRequest | undefined): Record<string, unknown> => {
  const json = request?.json
  return typeof json === "object" && json !== null ? { ...json } : {}
}

describe("OpenAiChatWire.sseData", () => {
  it.effect("decodes events split at every byte, with CRLF, comments, multi-line data and split characters", () =>
    Effect.gen(function*() {
      const wire = ": keep-alive\r\n\r\ndata: {\"a\":\"日本🎉\"}\r\n\r\n" +
        "event: x\ndata: one\ndata: two\n\ndata:[DONE]\n\n" +
        "data: unterminated"
      const bytes = new TextEncoder().encode(wire)
      const pieces = Array.from(bytes, (byte) => Uint8Array.of(byte))
      const data = yield* Wire.sseData(Stream.fromIterable(pieces)).pipe(Stream.runCollect)
      expect(Chunk.toReadonlyArray(data)).toEqual(["{\"a\":\"日本🎉\"}", "one\ntwo", "[DONE]"])
    }))
})

layer(NodeHttpClient.layerUndici, { excludeTestServices: true })("OpenAiChat", (it) => {
  it.scoped("streams text exactly, with UTF-8 characters split across TCP writes and keep-alive comments", () =>
    Effect.gen(function*() {
      const fake = yield* Fake.make
      const deltas = ["Hel", "lo, ", "café ", "日本", " 🎉", "!"]
      const steps = Fake.chatTextSteps(deltas, { usage: { prompt_tokens: 9, completion_tokens: 6, total_tokens: 15 } })
        .flatMap((step, index) => {
          const split = step._tag === "Write" && /[^\x00-\x7f]/.test(Buffer.from(step.chunk).toString("utf8"))
          return [...(split ? Fake.splitUtf8(step) : [step]), ...(index % 2 === 0 ? [Fake.keepAlive] : [])]
        })
      fake.reply(Fake.eventStream(steps))
      const model = yield* modelOn(fake)
      const parts = yield* streamTurn(model, userPrompt("say hello"))

      expect(textOf(parts)).toBe("Hello, café 日本 🎉!")
      expect(parts.filter((part) => part.type === "text-delta").map((part) => part.type === "text-delta" && part.delta))
        .toEqual(deltas)
      expect(parts.map((part) => part.type).filter((type) => type !== "text-delta")).toEqual([
        "response-metadata",
        "text-start",
        "text-end",
        "finish"
      ])
      const finish = parts.at(-1)
      expect(finish?.type === "finish" && finish.reason).toBe("stop")
      expect(finish?.type === "finish" && finish.usage).toMatchObject({
        inputTokens: 9,
        outputTokens: 6,
        totalTokens: 15
      })

      const [request] = fake.requests()
      expect(request?.method).toBe("POST")
      expect(request?.path).toBe("/v1/chat/completions")
      expect(request?.headers["authorization"]).toBe(`Bearer ${secret}`)
      expect(bodyOf(request)).toMatchObject({
        model: "gpt-fake",
        stream: true,
        stream_options: { include_usage: true },
        messages: [{ role: "user", content: "say hello" }],
        tool_choice: "auto"
      })
    }))

  it.scoped("reassembles tool-call argument fragments into whole tool calls with parsed params", () =>
    Effect.gen(function*() {
      const fake = yield* Fake.make
      fake.reply(Fake.eventStream(Fake.chatToolCallSteps([
        {
          id: "call_w1",
          name: "write_file",
          argumentPieces: ["{\"pa", "th\": \"notes/a.txt\", \"con", "tent\": \"caf", "é 日本\"}"]
        },
        { id: "call_r2", name: "read_file", argumentPieces: ["{\"path\":", " \"notes/a.txt\"}"] }
      ], { usage: { prompt_tokens: 40, completion_tokens: 22, total_tokens: 62 } })))
      const model = yield* modelOn(fake)
      const parts = yield* streamTurn(model, userPrompt("write a note"))

      const calls = parts.flatMap((part) => part.type === "tool-call" ? [[part.id, part.name, part.params]] : [])
      expect(calls).toEqual([
        ["call_w1", "write_file", { path: "notes/a.txt", content: "café 日本" }],
        ["call_r2", "read_file", { path: "notes/a.txt" }]
      ])
      const finish = parts.at(-1)
      expect(finish?.type === "finish" && finish.reason).toBe("tool-calls")
      expect(finish?.type === "finish" && finish.usage).toMatchObject({ inputTokens: 40, outputTokens: 22 })

      const body = bodyOf(fake.requests()[0])
      const tools = Array.isArray(body["tools"]) ? body["tools"] : []
      expect(tools.map((tool: { readonly function?: { readonly name?: string } }) => tool.function?.name)).toEqual(
        AgentTools.declarations.map((declaration) => declaration.name)
      )
      expect(tools[2]).toMatchObject({
        type: "function",
        function: {
          name: "write_file",
          description: "Create or replace a file of the run's workspace (at most 1 MB)",
          parameters: { type: "object", required: ["path", "content"], properties: { path: { type: "string" } } }
        }
      })
    }))

  it.scoped("sends the conversation: system, user, assistant tool calls and tool results", () =>
    Effect.gen(function*() {
      const fake = yield* Fake.make
      fake.reply(Fake.eventStream(Fake.chatTextSteps(["ok"])))
      const model = yield* modelOn(fake)
      const prompt = Prompt.fromMessages([
        Prompt.systemMessage({ content: "be brief" }),
        Prompt.userMessage({ content: [Prompt.textPart({ text: "write, then read" })] }),
        Prompt.assistantMessage({
          content: [
            Prompt.textPart({ text: "On it." }),
            Prompt.toolCallPart({
              id: "call_1",
              name: "write_file",
              params: { path: "a.txt", content: "x" },
              providerExecuted: false
            })
          ]
        }),
        Prompt.toolMessage({
          content: [
            Prompt.toolResultPart({
              id: "call_1",
              name: "write_file",
              isFailure: false,
              result: { path: "a.txt", bytes: 1 },
              providerExecuted: false
            })
          ]
        }),
        Prompt.assistantMessage({
          content: [
            Prompt.toolCallPart({ id: "call_2", name: "read_file", params: { path: "b" }, providerExecuted: false })
          ]
        }),
        Prompt.toolMessage({
          content: [
            Prompt.toolResultPart({
              id: "call_2",
              name: "read_file",
              isFailure: true,
              result: "no such file",
              providerExecuted: false
            })
          ]
        })
      ])
      const parts = yield* streamTurn(model, prompt)
      expect(textOf(parts)).toBe("ok")
      expect(bodyOf(fake.requests()[0])["messages"]).toEqual([
        { role: "system", content: "be brief" },
        { role: "user", content: "write, then read" },
        {
          role: "assistant",
          content: "On it.",
          tool_calls: [{
            id: "call_1",
            type: "function",
            function: { name: "write_file", arguments: "{\"path\":\"a.txt\",\"content\":\"x\"}" }
          }]
        },
        { role: "tool", tool_call_id: "call_1", content: "{\"path\":\"a.txt\",\"bytes\":1}" },
        {
          role: "assistant",
          content: null,
          tool_calls: [
            { id: "call_2", type: "function", function: { name: "read_file", arguments: "{\"path\":\"b\"}" } }
          ]
        },
        { role: "tool", tool_call_id: "call_2", content: "{\"error\":\"no such file\"}" }
      ])
    }))

  it.scoped("generateText collects the stream into text, tool calls and finish", () =>
    Effect.gen(function*() {
      const fake = yield* Fake.make
      fake.reply(Fake.eventStream(Fake.chatTextSteps(["Hello", " there"])))
      const model = yield* modelOn(fake)
      const response = yield* model.generateText({ prompt: userPrompt("hi") })
      expect(response.text).toBe("Hello there")
      expect(response.finishReason).toBe("stop")
      expect(response.usage.totalTokens).toBe(17)
    }))

  it.scoped("malformed tool-call arguments fail the stream with MalformedOutput", () =>
    Effect.gen(function*() {
      const fake = yield* Fake.make
      fake.reply(Fake.eventStream(Fake.chatToolCallSteps([
        { id: "call_bad", name: "shell", argumentPieces: ["{\"command\": ", "\"ls"] }
      ])))
      const model = yield* modelOn(fake)
      const result = yield* model.streamText({
        prompt: userPrompt("list"),
        toolkit: AgentTools.toolkit,
        disableToolCallResolution: true
      }).pipe(Stream.runCollect, Effect.either)
      const error = Either.isLeft(result) ? result.left : undefined
      expect(error?._tag).toBe("MalformedOutput")
      expect(error?.message).toContain("the arguments of tool call call_bad (shell) are not valid JSON")
    }))

  it.scoped("an error event mid-stream fails with an AiError carrying its message, after the text before it", () =>
    Effect.gen(function*() {
      const fake = yield* Fake.make
      fake.reply(Fake.eventStream([
        Fake.chatData(Fake.chatChunk({ role: "assistant", content: "" })),
        Fake.chatData(Fake.chatChunk({ content: "partial " })),
        Fake.chatErrorEvent("The server had an error while processing your request.")
      ]))
      const model = yield* modelOn(fake)
      const seen: Array<string> = []
      const result = yield* model.streamText({ prompt: userPrompt("hi") }).pipe(
        Stream.runForEach((part) => Effect.sync(() => part.type === "text-delta" && seen.push(part.delta))),
        Effect.either
      )
      expect(seen).toEqual(["partial "])
      const error = Either.isLeft(result) ? result.left : undefined
      if (error?._tag !== "HttpResponseError") return expect.fail(`expected HttpResponseError, got ${error?._tag}`)
      expect(error.message).toContain("The server had an error while processing your request.")
      expect(error.message).toContain("server_error")
      expect(everythingShown(error)).not.toContain(secret)
    }))

  it.scoped("429: an HttpResponseError with status 429, the Retry-After header and the API's message", () =>
    Effect.gen(function*() {
      const fake = yield* Fake.make
      fake.reply(Fake.chatErrorReply(429, "Rate limit reached for gpt-fake", {
        type: "requests",
        code: "rate_limit_exceeded",
        headers: { "retry-after": "1" }
      }))
      const model = yield* modelOn(fake)
      const result = yield* streamEither(model, userPrompt("hi"))
      const error = Either.isLeft(result) ? result.left : undefined
      if (error?._tag !== "HttpResponseError") return expect.fail(`expected HttpResponseError, got ${error?._tag}`)
      expect(error.response.status).toBe(429)
      expect(error.response.headers["retry-after"]).toBe("1")
      expect(error.description).toBe("Rate limit reached for gpt-fake")
      expect(error.body).toContain("rate_limit_exceeded")
      expect(error.request.headers["authorization"]).toBe("<redacted>")
      expect(everythingShown(error)).not.toContain(secret)
    }))

  it.scoped("500: an HttpResponseError with status 500", () =>
    Effect.gen(function*() {
      const fake = yield* Fake.make
      fake.reply(Fake.chatErrorReply(500, "The server had an error processing your request."))
      const model = yield* modelOn(fake)
      const result = yield* streamEither(model, userPrompt("hi"))
      const error = Either.isLeft(result) ? result.left : undefined
      if (error?._tag !== "HttpResponseError") return expect.fail(`expected HttpResponseError, got ${error?._tag}`)
      expect(error.response.status).toBe(500)
      expect(error.message).toContain("The server had an error processing your request.")
      expect(everythingShown(error)).not.toContain(secret)
    }))

  it.scoped("a connection cut mid-stream fails with a Transport error instead of hanging", () =>
    Effect.gen(function*() {
      const fake = yield* Fake.make
      fake.reply(Fake.eventStream([
        Fake.chatData(Fake.chatChunk({ role: "assistant", content: "" })),
        Fake.chatData(Fake.chatChunk({ content: "Hel" })),
        Fake.pause(20),
        Fake.cut
      ]))
      const model = yield* modelOn(fake)
      const result = yield* streamEither(model, userPrompt("hi")).pipe(Effect.timeout("5 seconds"))
      const error = Either.isLeft(result) ? result.left : undefined
      if (error?._tag !== "HttpRequestError") return expect.fail(`expected HttpRequestError, got ${error?._tag}`)
      expect(error.reason).toBe("Transport")
      expect(error.message).toContain("the connection was lost while the response streamed")
      expect(everythingShown(error)).not.toContain(secret)
    }))

  it.scoped("a stream that ends without finish_reason or [DONE] is an error, not a silent short answer", () =>
    Effect.gen(function*() {
      const fake = yield* Fake.make
      fake.reply(Fake.eventStream([Fake.chatData(Fake.chatChunk({ role: "assistant", content: "Hel" }))]))
      const model = yield* modelOn(fake)
      const result = yield* streamEither(model, userPrompt("hi"))
      expect(Either.isLeft(result) && result.left._tag).toBe("MalformedOutput")
    }))

  it.scoped("interrupting the stream closes the HTTP connection", () =>
    Effect.gen(function*() {
      const fake = yield* Fake.make
      fake.reply(Fake.eventStream([
        Fake.chatData(Fake.chatChunk({ role: "assistant", content: "" })),
        Fake.chatData(Fake.chatChunk({ content: "first" })),
        Fake.hang
      ]))
      const model = yield* modelOn(fake)
      const firstDelta = yield* Deferred.make<void>()
      const fiber = yield* model.streamText({ prompt: userPrompt("hi") }).pipe(
        Stream.runForEach((part) => part.type === "text-delta" ? Deferred.succeed(firstDelta, undefined) : Effect.void),
        Effect.fork
      )
      yield* Deferred.await(firstDelta).pipe(Effect.timeout("5 seconds"))
      expect(fake.earlyDisconnects()).toBe(0)
      yield* Fiber.interrupt(fiber)
      yield* fake.awaitEarlyDisconnects(1).pipe(Effect.timeout("5 seconds"))
      expect(fake.earlyDisconnects()).toBe(1)
    }))

  it.scoped("its raw parts, decoded by the agents' ModelTurn, are exactly what streamText gives, from the same request", () =>
    Effect.gen(function*() {
      const fake = yield* Fake.make
      const answers = [
        Fake.eventStream(Fake.chatTextSteps(["Hel", "lo ", "there"])),
        Fake.eventStream(Fake.chatToolCallSteps([
          { id: "call_w1", name: "write_file", argumentPieces: ["{\"path\": \"a.txt\", ", "\"content\": \"é\"}"] }
        ]))
      ]
      fake.reply(...answers, ...answers)
      const models = yield* OpenAiChat.make({ apiKey, baseUrl: fake.baseUrl })
      const rawStream = models.rawStream?.("gpt-fake")
      expect(rawStream).toBeDefined()
      const model: ResolvedModel = {
        id: "openai/gpt-fake",
        provider: "openai",
        model: "gpt-fake",
        languageModel: models.languageModel("gpt-fake"),
        rawParts: rawStream === undefined ? undefined : rawPartsOf(rawStream)
      }
      const prompt = userPrompt("write a note")
      const viaLibrary = [yield* streamTurn(model.languageModel, prompt), yield* streamTurn(model.languageModel, prompt)]
      const turn = turnParts(model, prompt)
      const viaRaw = [yield* turn, yield* turn]

      expect(viaRaw).toEqual(viaLibrary)
      expect(textOf(viaRaw[0] ?? [])).toBe("Hello there")
      expect(viaRaw[1]?.filter((part) => part.type === "tool-call").map((part) => part.params)).toEqual([
        { path: "a.txt", content: "é" }
      ])
      const bodies = fake.requests().map(bodyOf)
      expect(bodies).toHaveLength(4)
      expect(bodies.slice(2)).toEqual(bodies.slice(0, 2))
    }))

  it.scoped("the codex agent runs a write_file call then answers: two requests, the second with the tool result", () =>
    Effect.gen(function*() {
      const root = yield* Effect.acquireRelease(
        Effect.sync(() => fs.mkdtempSync(path.join(os.tmpdir(), "openclaw-openai-chat-test-"))),
        (dir) => Effect.sync(() => fs.rmSync(dir, { recursive: true, force: true }))
      )
      const fake = yield* Fake.make
      fake.reply(
        Fake.eventStream(Fake.chatToolCallSteps([{
          id: "call_w1",
          name: "write_file",
          argumentPieces: ["{\"path\": \"notes/hello.txt\", ", "\"content\": \"hello from the fake\"}"]
        }])),
        Fake.eventStream(Fake.chatTextSteps(["I wrote ", "notes/hello.txt."]))
      )
      const languageModel = yield* modelOn(fake)
      const model: ResolvedModel = { id: "openai/gpt-fake", provider: "openai", model: "gpt-fake", languageModel }
      const context: AgentContext = {
        runId: RunId.make(crypto.randomUUID()),
        spec: new StartRun({ prompt: "write a note", mode: "inline" }),
        model,
        depth: 0,
        maxSteps: 4
      }
      const agentLayer = InlineSubagents.layer({ maxSteps: 4 }).pipe(
        Layer.provideMerge(Tools.layer({ workspaceRoot: root, maxSubagentDepth: 1, secretEnvNames: [] }))
      )
      const { seen, result } = yield* runAgent(CodexAgent, context, agentLayer)
      expect(Either.isRight(result)).toBe(true)
      const tags = seen.map((output) => output._tag).filter((tag, index, all) => tag !== all[index - 1])
      expect(tags).toEqual(["ToolCalled", "ToolResult", "TokenDelta", "RunCompleted"])
      const toolResult = seen.find((output) => output._tag === "ToolResult")
      expect(toolResult?._tag === "ToolResult" && [toolResult.callId, toolResult.isError]).toEqual(["call_w1", false])
      const last = seen.at(-1)
      expect(last?._tag === "RunCompleted" && last.text).toBe("I wrote notes/hello.txt.")
      expect(last?._tag === "RunCompleted" && last.usage.outputTokens).toBe(10)

      const requests = fake.requests()
      expect(requests.length).toBe(2)
      const messages = bodyOf(requests[1])["messages"]
      expect(messages).toMatchObject([
        { role: "user", content: "write a note" },
        {
          role: "assistant",
          content: null,
          tool_calls: [{ id: "call_w1", type: "function", function: { name: "write_file" } }]
        },
        { role: "tool", tool_call_id: "call_w1" }
      ])
      const toolMessage = Array.isArray(messages) ? messages[2] : undefined
      const content: unknown = typeof toolMessage === "object" && toolMessage !== null && "content" in toolMessage
        ? toolMessage.content
        : undefined
      expect(typeof content === "string" && content).toContain("notes/hello.txt")
    }))
})
