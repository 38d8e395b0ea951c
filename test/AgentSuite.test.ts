/**
 * One agent test suite, run unchanged on every provider layer: the mock, OpenAI Chat Completions, the OpenAI
 * Responses API and Anthropic, each real provider against its fake server on loopback (the same builders the
 * provider tests use), through the same registry entry the gateway builds (resilience wrapper included). Each
 * backend turns an abstract script (text turns, tool-call turns) into what its API would stream.
 */
import type { LanguageModel } from "@effect/ai"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Either, Layer, type Scope } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import type { AgentOutput } from "../src/Agents/AgentOutput.js"
import { CodexAgent } from "../src/Agents/CodexAgent.js"
import * as InlineSubagents from "../src/Agents/InlineSubagents.js"
import * as Tools from "../src/Agents/Tools.js"
import { GatewayConfig } from "../src/Config/GatewayConfig.js"
import { RunId } from "../src/Domain/Ids.js"
import { StartRun } from "../src/Domain/RunSpec.js"
import * as ProviderRegistry from "../src/Llm/ProviderRegistry.js"
import { runAgent } from "./support/AgentRuns.js"
import * as FakeAnthropic from "./support/FakeAnthropic.js"
import * as FakeOpenAi from "./support/FakeOpenAi.js"
import * as FakeOpenAiResponses from "./support/FakeOpenAiResponses.js"

type Turn =
  | { readonly _tag: "Text"; readonly pieces: ReadonlyArray<string> }
  | { readonly _tag: "ToolCall"; readonly id: string; readonly name: string; readonly params: unknown }

interface Scripted {
  readonly languageModel: LanguageModel.Service
  /** The JSON bodies the provider's server received, in order (none for the mock). */
  readonly requests: () => ReadonlyArray<unknown>
}

interface Backend {
  readonly name: string
  /** A language model scripted to answer `turns` (one model request per turn). */
  readonly script: (turns: ReadonlyArray<Turn>) => Effect.Effect<Scripted, never, Scope.Scope>
  /** The mock writes its own final answer; the fakes stream the script's. */
  readonly scriptsFinalText: boolean
  /** What, in the provider's own wire format, shows a follow-up request carrying a tool call and its result. */
  readonly toolResultMarkers: (callId: string) => ReadonlyArray<string>
}

/** Splits a JSON text into three fragments, as providers stream tool arguments. */
const fragments = (params: unknown): ReadonlyArray<string> => {
  const json = JSON.stringify(params)
  const third = Math.ceil(json.length / 3)
  return [json.slice(0, third), json.slice(third, 2 * third), json.slice(2 * third)]
}

/** The registry entry the gateway would build from `input` (its HTTP client lives as long as the test's scope). */
const resolveFrom = (input: Parameters<typeof GatewayConfig.layerTest>[0], model: string) =>
  Layer.build(ProviderRegistry.layer.pipe(Layer.provide(GatewayConfig.layerTest(input)))).pipe(
    Effect.flatMap((context) => Effect.provide(ProviderRegistry.ProviderRegistry, context)),
    Effect.flatMap((registry) => registry.resolve(model)),
    Effect.map((resolved) => resolved.languageModel),
    Effect.orDie
  )

const connection = { maxRetries: 0, connectTimeoutMs: 5000, idleTimeoutMs: 5000 }

const backends: ReadonlyArray<Backend> = [
  {
    name: "mock",
    scriptsFinalText: false,
    toolResultMarkers: () => [],
    script: (turns) => {
      const first = turns[0]
      const calls = turns.flatMap((turn) => (turn._tag === "ToolCall" ? [{ name: turn.name, params: turn.params }] : []))
      const reply = first?._tag === "Text" ? first.pieces.join("") : "Working on it."
      return resolveFrom(
        { models: { providers: { mock: { firstTokenDelayMs: 0, tokenDelayMs: 0, reply, toolCalls: calls } } } },
        "mock/mock-1"
      ).pipe(Effect.map((languageModel) => ({ languageModel, requests: () => [] })))
    }
  },
  {
    name: "openai (chat)",
    scriptsFinalText: true,
    toolResultMarkers: (callId) => ["\"tool_calls\"", "\"role\":\"tool\"", `"tool_call_id":"${callId}"`],
    script: (turns) =>
      Effect.gen(function*() {
        const server = yield* FakeOpenAi.make
        server.reply(...turns.map((turn) =>
          FakeOpenAi.eventStream(
            turn._tag === "Text"
              ? FakeOpenAi.chatTextSteps(turn.pieces)
              : FakeOpenAi.chatToolCallSteps([{ id: turn.id, name: turn.name, argumentPieces: fragments(turn.params) }])
          )
        ))
        const languageModel = yield* resolveFrom(
          { models: { providers: { openai: { apiKey: "sk-test", baseUrl: server.baseUrl, ...connection } } } },
          "openai/gpt-test"
        )
        return { languageModel, requests: () => server.requests().map((request) => request.json) }
      })
  },
  {
    name: "openai (responses)",
    scriptsFinalText: true,
    toolResultMarkers: (callId) => [
      "\"type\":\"function_call\"",
      "\"type\":\"function_call_output\"",
      `"call_id":"${callId}"`
    ],
    script: (turns) =>
      Effect.gen(function*() {
        const server = yield* FakeOpenAiResponses.make
        server.reply(...turns.map((turn) =>
          turn._tag === "Text"
            ? FakeOpenAiResponses.textReply(turn.pieces)
            : FakeOpenAiResponses.functionCallReply({ callId: turn.id, name: turn.name, fragments: fragments(turn.params) })
        ))
        const languageModel = yield* resolveFrom(
          {
            models: {
              providers: { openai: { apiKey: "sk-test", baseUrl: server.baseUrl, api: "responses", ...connection } }
            }
          },
          "openai/gpt-test"
        )
        return { languageModel, requests: () => server.requests().map((request) => request.json) }
      })
  },
  {
    name: "anthropic",
    scriptsFinalText: true,
    toolResultMarkers: (callId) => ["\"type\":\"tool_use\"", "\"type\":\"tool_result\"", `"tool_use_id":"${callId}"`],
    script: (turns) =>
      Effect.gen(function*() {
        const server = yield* FakeAnthropic.make
        server.reply(...turns.map((turn) =>
          turn._tag === "Text"
            ? FakeAnthropic.textReply(turn.pieces)
            : FakeAnthropic.toolUseReply({ id: turn.id, name: turn.name, fragments: fragments(turn.params) })
        ))
        const languageModel = yield* resolveFrom(
          { models: { providers: { anthropic: { apiKey: "sk-test", baseUrl: server.baseUrl, ...connection } } } },
          "anthropic/claude-test"
        )
        return { languageModel, requests: () => server.requests().map((request) => request.json) }
      })
  }
]

/** Runs the codex agent on `languageModel` in a temporary workspace root; the outputs, in order. */
const runCodex = (languageModel: LanguageModel.Service, prompt: string) =>
  Effect.gen(function*() {
    const root = yield* Effect.acquireRelease(
      Effect.sync(() => fs.mkdtempSync(path.join(os.tmpdir(), "openclaw-suite-"))),
      (dir) => Effect.sync(() => fs.rmSync(dir, { recursive: true, force: true }))
    )
    const tools = Tools.layer({ workspaceRoot: root, maxSubagentDepth: 0, secretEnvNames: [] })
    const { seen, result } = yield* runAgent(CodexAgent, {
      runId: RunId.make(crypto.randomUUID()),
      spec: new StartRun({ prompt, mode: "inline" }),
      model: { id: "suite/model", provider: "suite", model: "model", languageModel },
      depth: 0,
      maxSteps: 4
    }, InlineSubagents.layer({ maxSteps: 4 }).pipe(Layer.provideMerge(tools)))
    // A run that fails fails the test, with its error.
    if (Either.isLeft(result)) return yield* Effect.fail(result.left)
    return { outputs: seen, root }
  })

const textOf = (outputs: ReadonlyArray<AgentOutput>) =>
  outputs.flatMap((output) => (output._tag === "TokenDelta" ? [output.text] : [])).join("")

describe.each(backends)("the codex agent on $name", (backend) => {
  it.live("answers a plain prompt: tokens stream and RunCompleted carries the same text", () =>
    Effect.gen(function*() {
      const { languageModel } = yield* backend.script([{ _tag: "Text", pieces: ["Hello", ", ", "agent ", "wörld."] }])
      const { outputs } = yield* runCodex(languageModel, "say hello")
      const last = outputs.at(-1)
      expect(last?._tag).toBe("RunCompleted")
      expect(last?._tag === "RunCompleted" && last.text).toBe(textOf(outputs))
      expect(textOf(outputs)).toBe("Hello, agent wörld.")
      expect(outputs.some((output) => output._tag === "ToolCalled")).toBe(false)
    }).pipe(Effect.scoped))

  it.live("performs a write_file tool call, feeds the result back and answers", () =>
    Effect.gen(function*() {
      const { languageModel, requests } = yield* backend.script([
        { _tag: "ToolCall", id: "call_1", name: "write_file", params: { path: "notes/hi.txt", content: "héllo" } },
        { _tag: "Text", pieces: ["Wrote ", "notes/hi.txt."] }
      ])
      const { outputs } = yield* runCodex(languageModel, "write a note")
      const tags = outputs.map((output) => output._tag)
      expect(tags.indexOf("ToolCalled")).toBeLessThan(tags.indexOf("ToolResult"))
      expect(outputs.find((output) => output._tag === "ToolCalled")).toMatchObject({
        name: "write_file",
        params: { path: "notes/hi.txt", content: "héllo" }
      })
      expect(outputs.find((output) => output._tag === "ToolResult")).toMatchObject({
        name: "write_file",
        isError: false,
        result: { path: "notes/hi.txt", bytes: Buffer.byteLength("héllo") }
      })
      const last = outputs.at(-1)
      expect(last?._tag).toBe("RunCompleted")
      if (backend.scriptsFinalText) expect(last?._tag === "RunCompleted" && last.text).toBe("Wrote notes/hi.txt.")
      // The second request gave the model its call and the tool's result, in the provider's own format.
      const second = JSON.stringify(requests()[1] ?? null)
      for (const marker of backend.toolResultMarkers("call_1")) expect(second).toContain(marker)
      if (backend.toolResultMarkers("call_1").length > 0) expect(second).toContain("notes/hi.txt")
    }).pipe(Effect.scoped))

  it.live("a path that escapes the workspace is refused as a tool error and the agent goes on", () =>
    Effect.gen(function*() {
      const { languageModel } = yield* backend.script([
        { _tag: "ToolCall", id: "call_2", name: "read_file", params: { path: "../../etc/passwd" } },
        { _tag: "Text", pieces: ["Could not read it."] }
      ])
      const { outputs } = yield* runCodex(languageModel, "read a file outside")
      const result = outputs.find((output) => output._tag === "ToolResult")
      expect(result?._tag === "ToolResult" && result.isError).toBe(true)
      expect(JSON.stringify(result)).not.toContain("root:")
      expect(outputs.at(-1)?._tag).toBe("RunCompleted")
    }).pipe(Effect.scoped))
})
