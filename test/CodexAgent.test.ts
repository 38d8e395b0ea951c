/**
 * The agent loop with the mock model (zero delays) and real tools: scripted tool round trips, the `maxSteps` limit,
 * subagents forwarded as tagged events within the depth limit, and, through the run supervisor, a timeout that kills
 * a command's whole process group and removes the workspace.
 */
import { LanguageModel, type Response } from "@effect/ai"
import { describe, expect, it } from "@effect/vitest"
import { Chunk, Effect, Either, Layer, Mailbox, Schema, Stream } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import type { AgentContext } from "../src/Agents/Agent.js"
import { CodexAgent } from "../src/Agents/CodexAgent.js"
import * as InlineRunner from "../src/Agents/InlineRunner.js"
import * as InlineSubagents from "../src/Agents/InlineSubagents.js"
import { RunSupervisor } from "../src/Agents/RunSupervisor.js"
import * as Tools from "../src/Agents/Tools.js"
import type { OpenclawConfigInput } from "../src/Config/ConfigSchema.js"
import { GatewayConfig } from "../src/Config/GatewayConfig.js"
import { AgentEvent } from "../src/Domain/AgentEvent.js"
import { RunId } from "../src/Domain/Ids.js"
import type { RunError } from "../src/Domain/RunError.js"
import { StartRun } from "../src/Domain/RunSpec.js"
import * as MockLanguageModel from "../src/Llm/MockLanguageModel.js"
import type { ResolvedModel } from "../src/Llm/ProviderRegistry.js"
import * as ProviderRegistry from "../src/Llm/ProviderRegistry.js"
import { runAgent } from "./support/AgentRuns.js"
import { isAlive, waitUntil } from "./support/ProcessLiveness.js"

type MockInput = NonNullable<NonNullable<NonNullable<OpenclawConfigInput["models"]>["providers"]>["mock"]>

const tempRoot = Effect.acquireRelease(
  Effect.sync(() => fs.mkdtempSync(path.join(os.tmpdir(), "openclaw-codex-test-"))),
  (root) => Effect.sync(() => fs.rmSync(root, { recursive: true, force: true }))
)

const mockModel = (input: MockInput) =>
  Effect.map(
    MockLanguageModel.make(
      GatewayConfig.fromInput({ models: { providers: { mock: { firstTokenDelayMs: 0, tokenDelayMs: 0, ...input } } } })
        .config.models.providers.mock
    ),
    (languageModel): ResolvedModel => ({ id: "mock/mock-1", provider: "mock", model: "mock-1", languageModel })
  )

const contextFor = (model: ResolvedModel, prompt: string, maxSteps = 8): AgentContext => ({
  runId: RunId.make(crypto.randomUUID()),
  spec: new StartRun({ prompt, mode: "inline" }),
  model,
  depth: 0,
  maxSteps
})

/** What a run needs: tools under `root`, subagents on the same fibers. */
const agentLayer = (root: string, options: { readonly maxSubagentDepth?: number; readonly maxSteps?: number } = {}) =>
  InlineSubagents.layer({ maxSteps: options.maxSteps ?? 8 }).pipe(
    Layer.provideMerge(
      Tools.layer({ workspaceRoot: root, maxSubagentDepth: options.maxSubagentDepth ?? 2, secretEnvNames: [] })
    )
  )

/** Runs the codex agent to its end: its outputs, and how it ended. */
const runCodex = (context: AgentContext, root: string, options: Parameters<typeof agentLayer>[1] = {}) =>
  runAgent(CodexAgent, context, agentLayer(root, options))

const tags = (outputs: ReadonlyArray<{ readonly _tag: string }>) => outputs.map((output) => output._tag)

/** Consecutive duplicates collapsed, to compare shapes without counting tokens. */
const shape = (outputs: ReadonlyArray<{ readonly _tag: string }>) =>
  tags(outputs).filter((tag, index, all) => tag !== all[index - 1])

describe("CodexAgent", () => {
  it.live("a scripted write_file then read_file round trip ends after two turns with the results", () =>
    Effect.gen(function*() {
      const root = yield* tempRoot
      const model = yield* mockModel({
        toolCalls: [
          { name: "write_file", params: { path: "notes/hello.txt", content: "hello from the model" } },
          { name: "read_file", params: { path: "notes/hello.txt" } }
        ]
      })
      const { seen, result } = yield* runCodex(contextFor(model, "write a note, then read it"), root)
      expect(Either.isRight(result)).toBe(true)
      expect(shape(seen)).toEqual([
        "TokenDelta",
        "ToolCalled",
        "ToolResult",
        "ToolCalled",
        "ToolResult",
        "TokenDelta",
        "RunCompleted"
      ])
      const results = seen.flatMap((output) => output._tag === "ToolResult" ? [output] : [])
      expect(results.map(({ callId, name, isError }) => [callId, name, isError])).toEqual([
        ["mock-call-0", "write_file", false],
        ["mock-call-1", "read_file", false]
      ])
      expect(results[1]?.result).toMatchObject({ path: "notes/hello.txt", content: "hello from the model" })
      const last = seen.at(-1)
      expect(last?._tag).toBe("RunCompleted")
      if (last?._tag !== "RunCompleted") return
      // The answer is the second turn's text, which quotes the results the mock received.
      expect(last.text).toContain("Mock reply after 2 tool results")
      expect(last.text).toContain("hello from the model")
      const secondTurn = seen.slice(seen.map((output) => output._tag).lastIndexOf("ToolResult") + 1)
      expect(secondTurn.flatMap((output) => output._tag === "TokenDelta" ? [output.text] : []).join(""))
        .toBe(last.text)
      expect(last.usage.outputTokens).toBe(seen.filter((output) => output._tag === "TokenDelta").length)
      // The workspace is gone with the run.
      expect(fs.readdirSync(root)).toEqual([])
    }).pipe(Effect.scoped))

  it.live("stops at maxSteps: a model that always asks for tools fails the run with AgentFailed", () =>
    Effect.gen(function*() {
      const root = yield* tempRoot
      let turns = 0
      const languageModel = yield* LanguageModel.make({
        generateText: () => Effect.succeed([]),
        streamText: () =>
          Stream.suspend(() => {
            turns++
            const parts: ReadonlyArray<Response.StreamPartEncoded> = [
              { type: "text-delta", id: "t", delta: `turn ${turns} ` },
              { type: "tool-call", id: `call-${turns}`, name: "shell", params: { command: `echo ${turns}` } },
              { type: "finish", reason: "tool-calls", usage: { inputTokens: 1, outputTokens: 1, totalTokens: 2 } }
            ]
            return Stream.fromIterable(parts)
          })
      })
      const model: ResolvedModel = { id: "loop/forever", provider: "loop", model: "forever", languageModel }
      const { seen, result } = yield* runCodex(contextFor(model, "never stop", 3), root)
      expect(turns).toBe(3)
      // Turns 1 and 2 had their calls performed; the calls of turn 3 had no turn left to read their results.
      expect(seen.filter((output) => output._tag === "ToolResult").length).toBe(2)
      expect(seen.filter((output) => output._tag === "CommandExited").length).toBe(2)
      expect(tags(seen).at(-1)).toBe("TokenDelta")
      const error = Either.isLeft(result) ? result.left : undefined
      expect(error?._tag).toBe("AgentFailed")
      expect(error?.message).toContain("the model still asked for tools after 3 turns (agents.maxSteps)")
      expect(fs.readdirSync(root)).toEqual([])

      // With maxSteps 1 the mock's scripted calls are never performed either.
      const mock = yield* mockModel({ reply: "Looking.", toolCalls: [{ name: "shell", params: { command: "ls" } }] })
      const once = yield* runCodex(contextFor(mock, "look", 1), root)
      expect(tags(once.seen)).toEqual(["TokenDelta"])
      expect(Either.isLeft(once.result) && once.result.left._tag).toBe("AgentFailed")
    }).pipe(Effect.scoped))

  describe("spawn_subagent", () => {
    it.live("forwards the child's own numbered events as SubagentEvent and returns its answer; depth is limited", () =>
      Effect.gen(function*() {
        const root = yield* tempRoot
        // Every first turn asks for a subagent: the run spawns a child, which spawns a grandchild, which is refused.
        const model = yield* mockModel({ toolCalls: [{ name: "spawn_subagent", params: { prompt: "help me" } }] })
        const context = contextFor(model, "delegate")
        const { seen, result } = yield* runCodex(context, root, { maxSubagentDepth: 2 })
        expect(Either.isRight(result)).toBe(true)
        expect(shape(seen)).toEqual([
          "TokenDelta",
          "ToolCalled",
          "SubagentEvent",
          "ToolResult",
          "TokenDelta",
          "RunCompleted"
        ])
        const forwarded = seen.flatMap((output) => output._tag === "SubagentEvent" ? [output] : [])
        const child = forwarded.map((output) => output.event)
        const childRunId = child[0]?.runId
        expect(forwarded.every((output) => output.depth === 1 && output.childRunId === childRunId)).toBe(true)
        expect(childRunId).not.toBe(context.runId)
        expect(child.map((event) => event.seq)).toEqual(child.map((_, index) => index))
        expect(shape(child)).toEqual([
          "RunStarted",
          "TokenDelta",
          "ToolCalled",
          "SubagentEvent",
          "ToolResult",
          "TokenDelta",
          "RunCompleted"
        ])
        expect(child[0]?._tag === "RunStarted" && [child[0].agent, child[0].model]).toEqual(["subagent", "mock/mock-1"])

        const grandchild = child.flatMap((event) => event._tag === "SubagentEvent" ? [event] : [])
        expect(grandchild.every((event) => event.depth === 2)).toBe(true)
        const inner = grandchild.map((event) => event.event)
        expect(shape(inner)).toEqual([
          "RunStarted",
          "TokenDelta",
          "ToolCalled",
          "ToolResult",
          "TokenDelta",
          "RunCompleted"
        ])
        const refused = inner.find((event) => event._tag === "ToolResult")
        expect(refused?._tag === "ToolResult" && [refused.name, refused.isError]).toEqual(["spawn_subagent", true])
        expect(refused?._tag === "ToolResult" && String(refused.result)).toContain("at most 2 deep")

        // The tool result of each spawn is the child's final text.
        const childAnswer = child.at(-1)
        const spawnResult = seen.find((output) => output._tag === "ToolResult")
        expect(childAnswer?._tag === "RunCompleted" && spawnResult?._tag === "ToolResult").toBe(true)
        if (childAnswer?._tag !== "RunCompleted" || spawnResult?._tag !== "ToolResult") return
        expect(spawnResult).toMatchObject({ name: "spawn_subagent", isError: false, result: childAnswer.text })
        expect(fs.readdirSync(root)).toEqual([])
      }).pipe(Effect.scoped))

    it.live("maxSubagentDepth 0 refuses every spawn with an error result", () =>
      Effect.gen(function*() {
        const root = yield* tempRoot
        const model = yield* mockModel({ toolCalls: [{ name: "spawn_subagent", params: { prompt: "help me" } }] })
        const { seen, result } = yield* runCodex(contextFor(model, "delegate"), root, { maxSubagentDepth: 0 })
        expect(Either.isRight(result)).toBe(true)
        expect(seen.some((output) => output._tag === "SubagentEvent")).toBe(false)
        const refused = seen.find((output) => output._tag === "ToolResult")
        expect(refused?._tag === "ToolResult" && refused.isError).toBe(true)
      }).pipe(Effect.scoped))
  })

  describe("through the run supervisor", () => {
    const supervisorLayer = (input: OpenclawConfigInput) =>
      RunSupervisor.DefaultWithoutDependencies.pipe(
        Layer.provide([ProviderRegistry.layer, InlineRunner.layer]),
        Layer.provide(GatewayConfig.layerTest(input))
      )

    const config = (root: string, mock: MockInput): OpenclawConfigInput => ({
      agents: { workspaceRoot: root },
      models: { providers: { mock: { firstTokenDelayMs: 0, tokenDelayMs: 0, ...mock } } }
    })

    it.live("the run's timeout kills the shell tool's whole process group and removes the workspace", () =>
      Effect.gen(function*() {
        const root = yield* tempRoot
        const command = "sleep 30 & echo $!; sleep 30 & echo $!; wait"
        const started = yield* Effect.gen(function*() {
          const supervisor = yield* RunSupervisor
          const { events } = yield* supervisor.start(new StartRun({ prompt: "wait", mode: "inline", timeoutMs: 1500 }))
          let output = ""
          let error: RunError | undefined
          const seen: Array<AgentEvent> = []
          let pids: ReadonlyArray<number> = []
          yield* Mailbox.toStream(events).pipe(
            Stream.runForEach((event) =>
              Effect.sync(() => {
                seen.push(event)
                if (event._tag !== "CommandOutput") return
                output += event.text
                const lines = output.split("\n").filter((line) => line !== "")
                // Both background children are running while the run is still going.
                if (lines.length === 2) {
                  pids = lines.map(Number)
                  expect(pids.every(isAlive)).toBe(true)
                  expect(fs.readdirSync(root).length).toBe(1)
                }
              })
            ),
            Effect.catchAll((failure) => Effect.sync(() => (error = failure)))
          )
          expect(error?._tag).toBe("RunTimedOut")
          expect(shape(seen)).toEqual(["RunStarted", "TokenDelta", "ToolCalled", "CommandOutput"])
          return pids
        }).pipe(
          Effect.provide(supervisorLayer(config(root, { toolCalls: [{ name: "shell", params: { command } }] }))),
          Effect.scoped
        )
        expect(started.length).toBe(2)
        expect(yield* waitUntil(() => started.every((pid) => !isAlive(pid)), 3000)).toBe(true)
        expect(fs.readdirSync(root)).toEqual([])
      }).pipe(Effect.scoped))

    it.live("numbers the forwarded child events in the parent's gap-free sequence; they survive JSON", () =>
      Effect.gen(function*() {
        const root = yield* tempRoot
        const mock = { toolCalls: [{ name: "spawn_subagent", params: { prompt: "help" } }] }
        const seen = yield* Effect.gen(function*() {
          const supervisor = yield* RunSupervisor
          const { events, runId } = yield* supervisor.start(new StartRun({ prompt: "delegate", mode: "inline" }))
          const seen = Chunk.toReadonlyArray(yield* Stream.runCollect(Mailbox.toStream(events)))
          expect(seen.map((event) => event.seq)).toEqual(seen.map((_, index) => index))
          expect(seen.every((event) => event.runId === runId)).toBe(true)
          return seen
        }).pipe(
          Effect.provide(
            supervisorLayer({ ...config(root, mock), agents: { workspaceRoot: root, maxSubagentDepth: 1 } })
          ),
          Effect.scoped
        )
        expect(shape(seen)).toEqual([
          "RunStarted",
          "TokenDelta",
          "ToolCalled",
          "SubagentEvent",
          "ToolResult",
          "TokenDelta",
          "RunCompleted"
        ])
        const json = JSON.parse(JSON.stringify(seen.map((event) => Schema.encodeSync(AgentEvent)(event))))
        const decoded = Schema.decodeUnknownSync(Schema.Array(AgentEvent))(json)
        expect(decoded).toEqual(seen)
        expect(fs.readdirSync(root)).toEqual([])
      }).pipe(Effect.scoped))
  })
})
