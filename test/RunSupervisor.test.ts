/** The run lifecycle: numbering, validation, timeouts, cancellation, disconnects, commands, backpressure, shutdown. */
import { LanguageModel } from "@effect/ai"
import { describe, expect, it } from "@effect/vitest"
import { Chunk, Deferred, Effect, Either, Exit, Fiber, Layer, Mailbox, Option, Scope, Stream, TestClock, Tracer } from "effect"
import * as fs from "node:fs"
import * as path from "node:path"
import type { AgentOutput } from "../src/Agents/AgentOutput.js"
import { AgentRunner } from "../src/Agents/AgentRunner.js"
import * as InlineRunner from "../src/Agents/InlineRunner.js"
import { RunSupervisor } from "../src/Agents/RunSupervisor.js"
import type { OpenclawConfigInput } from "../src/Config/ConfigSchema.js"
import { GatewayConfig } from "../src/Config/GatewayConfig.js"
import type { AgentEvent } from "../src/Domain/AgentEvent.js"
import type { RunError } from "../src/Domain/RunError.js"
import { StartRun } from "../src/Domain/RunSpec.js"
import * as ProviderRegistry from "../src/Llm/ProviderRegistry.js"

type MockInput = NonNullable<NonNullable<NonNullable<OpenclawConfigInput["models"]>["providers"]>["mock"]>

const withMock = (mock: MockInput, rest: Omit<OpenclawConfigInput, "models"> = {}): OpenclawConfigInput => ({
  ...rest,
  models: { providers: { mock: { firstTokenDelayMs: 0, tokenDelayMs: 0, ...mock } } }
})

const supervisorLayer = (
  input: OpenclawConfigInput,
  registry: Layer.Layer<ProviderRegistry.ProviderRegistry, never, GatewayConfig> = ProviderRegistry.layer
) =>
  RunSupervisor.DefaultWithoutDependencies.pipe(
    Layer.provide([registry, InlineRunner.layer]),
    Layer.provide(GatewayConfig.layerTest(input))
  )

/** A provider that streams one token, then hangs until interrupted, which it reports. */
const hangingRegistry = (interrupted: Deferred.Deferred<void>) =>
  Layer.effect(
    ProviderRegistry.ProviderRegistry,
    Effect.map(
      LanguageModel.make({
        generateText: () => Effect.never,
        streamText: () =>
          Stream.concat(
            Stream.make({ type: "text-delta", id: "t", delta: "hello " } as const),
            Stream.fromEffect(Effect.never.pipe(Effect.onInterrupt(() => Deferred.succeed(interrupted, undefined))))
          )
      }),
      (languageModel) =>
        ProviderRegistry.fromProviders(
          { mock: { _tag: "Available", models: ["mock-1"], languageModel: () => languageModel } },
          "mock/mock-1"
        )
    )
  )

/** Runs `body` against a supervisor whose model hangs after one token and records its interruption. */
const withHangingModel = <A, E>(
  body: (supervisor: RunSupervisor, interrupted: Deferred.Deferred<void>) => Effect.Effect<A, E, Scope.Scope>
) =>
  Effect.flatMap(Deferred.make<void>(), (interrupted) =>
    Effect.flatMap(RunSupervisor, (supervisor) => body(supervisor, interrupted)).pipe(
      Effect.provide(supervisorLayer(withMock({}), hangingRegistry(interrupted)))
    ))

const spec = (fields: ConstructorParameters<typeof StartRun>[0]) => new StartRun(fields)

/** The text of each TokenDelta, in order. */
const deltasOf = (events: ReadonlyArray<AgentEvent>) =>
  events.flatMap((event) => event._tag === "TokenDelta" ? [event.text] : [])

/** Reads a run's events to the end: what the client received, and how the stream ended. */
const drain = (events: Mailbox.ReadonlyMailbox<AgentEvent, RunError>) =>
  Effect.gen(function*() {
    const seen: Array<AgentEvent> = []
    const result = yield* Mailbox.toStream(events).pipe(
      Stream.runForEach((event) => Effect.sync(() => seen.push(event))),
      Effect.either
    )
    return { seen, result }
  })

const expectGapFree = (events: ReadonlyArray<AgentEvent>, runId: string) => {
  expect(events.map((event) => event.seq)).toEqual(events.map((_, index) => index))
  for (const event of events) expect(event.runId).toBe(runId)
}

/** Advances the TestClock one ms at a time, letting the run's fibers act at each step (a token is due each ms). */
const stepClock = (ms: number) =>
  Effect.repeatN(Effect.zipRight(TestClock.adjust(1), Effect.repeatN(Effect.yieldNow(), 20)), ms - 1)

/** Twenty one-word tokens. */
const manyWords = Array.from({ length: 20 }, (_, index) => `w${index}`).join(" ")

const errorOf = <A>(result: Either.Either<A, RunError>) => Either.isLeft(result) ? result.left : undefined

describe("RunSupervisor", () => {
  it.scoped("streams a run in order, seq 0..n-1 without gaps, RunCompleted last", () =>
    Effect.gen(function*() {
      const supervisor = yield* RunSupervisor
      const { events, runId } = yield* supervisor.start(spec({ prompt: "say it", mode: "inline" }))
      const { result, seen } = yield* drain(events)
      expect(Either.isRight(result)).toBe(true)
      expectGapFree(seen, runId)
      // The mock has no delays here: its three tokens arrive together, and go out as one delta.
      expect(seen.map((event) => event._tag)).toEqual(["RunStarted", "TokenDelta", "RunCompleted"])
      const [started] = seen
      expect(started?._tag === "RunStarted" && [started.agent, started.mode, started.model]).toEqual([
        "codex",
        "inline",
        "mock/mock-1"
      ])
      const last = seen.at(-1)
      expect(last?._tag).toBe("RunCompleted")
      if (last?._tag !== "RunCompleted") return
      expect(last.text).toBe("one two  three")
      expect(deltasOf(seen).join("")).toBe(last.text)
      expect({ ...last.usage }).toEqual({ inputTokens: 2, outputTokens: 3 })
    }).pipe(Effect.provide(supervisorLayer(withMock({ reply: "one two  three" })))))

  it.scoped("stamps `at` from the clock and reports the run's duration", () =>
    Effect.gen(function*() {
      const supervisor = yield* RunSupervisor
      const { events } = yield* supervisor.start(spec({ prompt: "x" }))
      const reader = yield* Effect.fork(drain(events))
      yield* TestClock.adjust(1000)
      const { seen } = yield* Fiber.join(reader)
      expect(seen.map((event) => event.at)).toEqual([0, 100, 120, 140, 140])
      const last = seen.at(-1)
      expect(last?._tag === "RunCompleted" && last.durationMs).toBe(140)
    }).pipe(Effect.provide(supervisorLayer(withMock({ reply: "a b c", firstTokenDelayMs: 100, tokenDelayMs: 20 })))))

  it.scoped("performs the model's tool calls (ToolCalled, the tool's events, ToolResult), then prompts it again", () =>
    Effect.gen(function*() {
      const supervisor = yield* RunSupervisor
      const { events, runId } = yield* supervisor.start(spec({ prompt: "look around" }))
      const { seen } = yield* drain(events)
      expectGapFree(seen, runId)
      // `ls` in the fresh, empty workspace prints nothing; the mock asks for tools on its first turn only.
      expect(seen.map((event) => event._tag)).toEqual([
        "RunStarted",
        "TokenDelta",
        "ToolCalled",
        "CommandExited",
        "ToolResult",
        "TokenDelta",
        "RunCompleted"
      ])
      const called = seen[2]
      expect(called?._tag === "ToolCalled" && [called.callId, called.name, called.params]).toEqual([
        "mock-call-0",
        "shell",
        { command: "ls" }
      ])
      const result = seen[4]
      expect(result?._tag === "ToolResult" && [result.callId, result.isError, result.result]).toEqual([
        "mock-call-0",
        false,
        { exitCode: 0, output: "", truncated: false }
      ])
    }).pipe(
      Effect.provide(
        supervisorLayer(withMock({ reply: "Looking.", toolCalls: [{ name: "shell", params: { command: "ls" } }] }))
      )
    ))

  it.scoped("refuses an agent outside acp.allowedAgents with AgentNotAllowed", () =>
    Effect.gen(function*() {
      const supervisor = yield* RunSupervisor
      const refused = yield* Effect.flip(supervisor.start(spec({ agent: "subagent", prompt: "x" })))
      expect(refused._tag).toBe("AgentNotAllowed")
      expect(refused._tag === "AgentNotAllowed" && refused.allowed).toEqual(["codex"])
      const unknown = yield* Effect.flip(supervisor.start(spec({ agent: "rm-rf", prompt: "x" })))
      expect(unknown._tag === "AgentNotAllowed" && unknown.agent).toBe("rm-rf")
      expect((yield* supervisor.snapshot).runs).toEqual([])
    }).pipe(Effect.provide(supervisorLayer(withMock({}, { acp: { allowedAgents: ["codex"] } })))))

  it.scoped("runs acp.defaultAgent when the spec names no agent", () =>
    Effect.gen(function*() {
      const supervisor = yield* RunSupervisor
      const { events } = yield* supervisor.start(spec({ prompt: "hi" }))
      const { seen, result } = yield* drain(events)
      expect(Either.isRight(result)).toBe(true)
      expect(seen[0]?._tag === "RunStarted" && seen[0].agent).toBe("subagent")
    }).pipe(Effect.provide(supervisorLayer(withMock({}, { acp: { defaultAgent: "subagent" } })))))

  it.scoped("refuses unknown models and malformed model names with InvalidRequest", () =>
    Effect.gen(function*() {
      const supervisor = yield* RunSupervisor
      const reasons = yield* Effect.forEach(["mock/mock-2", "openai/gpt-4o", "mock-1", "mock/"], (model) =>
        Effect.flip(supervisor.start(spec({ prompt: "x", model }))).pipe(
          Effect.map((error) => error._tag === "InvalidRequest" ? error.reason : error._tag)
        ))
      expect(reasons).toEqual([
        "provider \"mock\" has no model \"mock-2\" (available: mock-1)",
        "unknown provider \"openai\" (configured: mock; add it under models.providers)",
        "model \"mock-1\" must be \"provider/model\", e.g. \"mock/mock-1\"",
        "model \"mock/\" must be \"provider/model\", e.g. \"mock/mock-1\""
      ])
    }).pipe(Effect.provide(supervisorLayer(withMock({})))))

  it.scoped("refuses a run with neither prompt nor command, and a command sent to the subagent", () =>
    Effect.gen(function*() {
      const supervisor = yield* RunSupervisor
      const empty = yield* Effect.flip(supervisor.start(spec({})))
      expect(empty._tag === "InvalidRequest" && empty.reason).toBe("a run needs a prompt, a command or both")
      const blank = yield* Effect.flip(supervisor.start(spec({ prompt: "   " })))
      expect(blank._tag).toBe("InvalidRequest")
      const sub = yield* Effect.flip(supervisor.start(spec({ agent: "subagent", prompt: "x", command: "ls" })))
      expect(sub._tag === "InvalidRequest" && sub.reason).toContain("does not run commands")
      expect(yield* supervisor.snapshot).toEqual({ runs: [], completed: 0, failed: 0 })
    }).pipe(Effect.provide(supervisorLayer(withMock({})))))

  it.scoped("fails the events with RunTimedOut when the run outlives its timeout", () =>
    Effect.gen(function*() {
      const supervisor = yield* RunSupervisor
      const { events, runId } = yield* supervisor.start(spec({ prompt: "slow", timeoutMs: 500 }))
      const reader = yield* Effect.fork(drain(events))
      yield* TestClock.adjust(499)
      expect((yield* supervisor.snapshot).runs.map((run) => run.runId)).toEqual([runId])
      yield* TestClock.adjust(1)
      const { seen, result } = yield* Fiber.join(reader)
      expect(seen.map((event) => event._tag)).toEqual(["RunStarted"])
      const error = errorOf(result)
      expect(error?._tag === "RunTimedOut" && [error.runId, error.timeoutMs]).toEqual([runId, 500])
      expect(yield* supervisor.snapshot).toEqual({ runs: [], completed: 0, failed: 1 })
    }).pipe(Effect.provide(supervisorLayer(withMock({ firstTokenDelayMs: 10_000 })))))

  it.scoped("uses runs.defaultTimeoutMs when the spec sets none", () =>
    Effect.gen(function*() {
      const supervisor = yield* RunSupervisor
      const { events } = yield* supervisor.start(spec({ prompt: "slow" }))
      const reader = yield* Effect.fork(drain(events))
      yield* TestClock.adjust(2000)
      const error = errorOf((yield* Fiber.join(reader)).result)
      expect(error?._tag === "RunTimedOut" && error.timeoutMs).toBe(2000)
    }).pipe(
      Effect.provide(supervisorLayer(withMock({ firstTokenDelayMs: 10_000 }, { runs: { defaultTimeoutMs: 2000 } })))
    ))

  describe("interruption", () => {
    it.scoped("cancel fails the events with RunCancelled(client) and interrupts the model's stream", () =>
      withHangingModel((supervisor, interrupted) =>
        Effect.gen(function*() {
          const { events, runId } = yield* supervisor.start(spec({ prompt: "hang" }))
          expect((yield* events.take)._tag).toBe("RunStarted")
          expect((yield* events.take)._tag).toBe("TokenDelta")
          expect(yield* Deferred.isDone(interrupted)).toBe(false)
          yield* supervisor.cancel(runId)
          expect(yield* Deferred.isDone(interrupted)).toBe(true)
          const { seen, result } = yield* drain(events)
          expect(seen).toEqual([])
          const error = errorOf(result)
          expect(error?._tag === "RunCancelled" && [error.runId, error.reason]).toEqual([runId, "client"])
          expect(yield* supervisor.snapshot).toEqual({ runs: [], completed: 0, failed: 1 })
          const again = yield* Effect.flip(supervisor.cancel(runId))
          expect(again._tag).toBe("RunNotFound")
        }))
    )

    it.scoped("a run started from an uninterruptible region can still be cancelled", () =>
      withHangingModel((supervisor, interrupted) =>
        Effect.gen(function*() {
          const { events, runId } = yield* Effect.uninterruptible(supervisor.start(spec({ prompt: "hang" })))
          expect((yield* events.take)._tag).toBe("RunStarted")
          expect((yield* events.take)._tag).toBe("TokenDelta")
          yield* supervisor.cancel(runId)
          expect(yield* Deferred.isDone(interrupted)).toBe(true)
          const error = errorOf((yield* drain(events)).result)
          expect(error?._tag === "RunCancelled" && error.reason).toBe("client")
        }))
    )

    it.scoped("closing the run's scope (client disconnect) interrupts the run likewise", () =>
      withHangingModel((supervisor, interrupted) =>
        Effect.gen(function*() {
          const connection = yield* Scope.make()
          const { events, runId } = yield* supervisor.start(spec({ prompt: "hang" })).pipe(Scope.extend(connection))
          expect((yield* events.take)._tag).toBe("RunStarted")
          expect((yield* events.take)._tag).toBe("TokenDelta")
          yield* Scope.close(connection, Exit.void)
          expect(yield* Deferred.isDone(interrupted)).toBe(true)
          const error = errorOf((yield* drain(events)).result)
          expect(error?._tag === "RunCancelled" && [error.runId, error.reason]).toEqual([runId, "client"])
          expect((yield* supervisor.snapshot).runs).toEqual([])
        }))
    )

    it.scoped("a run started into a scope already closed does not start: the start is interrupted, nothing runs", () =>
      withHangingModel((supervisor, interrupted) =>
        Effect.gen(function*() {
          const connection = yield* Scope.make()
          yield* Scope.close(connection, Exit.void)
          // Every span the start makes is recorded: none is left open.
          const native = yield* Effect.tracer
          const spans: Array<Tracer.Span> = []
          const recording = Tracer.make({
            span: (...args) => {
              const span = native.span(...args)
              spans.push(span)
              return span
            },
            context: native.context
          })
          const started = yield* Effect.exit(
            supervisor.start(spec({ prompt: "hang" })).pipe(Scope.extend(connection), Effect.withTracer(recording))
          )
          expect(Exit.isInterrupted(started)).toBe(true)
          expect(yield* Deferred.isDone(interrupted)).toBe(false)
          expect((yield* supervisor.snapshot).runs).toEqual([])
          expect(spans.map((span) => span.name)).toContain("RunSupervisor.run")
          expect(spans.filter((span) => span.status._tag !== "Ended").map((span) => span.name)).toEqual([])
        }))
    )

    it.scoped("closing the supervisor's own scope stops every run with RunCancelled(shutdown)", () =>
      Effect.gen(function*() {
        const interrupted = yield* Deferred.make<void>()
        const serviceScope = yield* Scope.make()
        const context = yield* Layer.buildWithScope(
          supervisorLayer(withMock({}), hangingRegistry(interrupted)),
          serviceScope
        )
        const supervisor = yield* RunSupervisor.pipe(Effect.provide(context))
        const { events } = yield* supervisor.start(spec({ prompt: "hang" }))
        expect((yield* events.take)._tag).toBe("RunStarted")
        yield* Scope.close(serviceScope, Exit.void)
        expect(yield* Deferred.isDone(interrupted)).toBe(true)
        const { seen, result } = yield* drain(events)
        expect(seen.map((event) => event._tag)).toEqual(["TokenDelta"])
        const error = errorOf(result)
        expect(error?._tag === "RunCancelled" && error.reason).toBe("shutdown")
      }))
  })

  it.scoped("turns a scripted provider failure into ProviderFailed with its status", () =>
    Effect.gen(function*() {
      const supervisor = yield* RunSupervisor
      const { events, runId } = yield* supervisor.start(spec({ prompt: "x" }))
      const { seen, result } = yield* drain(events)
      expectGapFree(seen, runId)
      expect(seen.map((event) => event._tag === "TokenDelta" ? event.text : event._tag)).toEqual(["RunStarted", "a b "])
      const error = errorOf(result)
      expect(error?._tag === "ProviderFailed" && [error.provider, error.status, error.reason]).toEqual([
        "mock",
        503,
        "overloaded"
      ])
    }).pipe(
      Effect.provide(
        supervisorLayer(withMock({ reply: "a b c d", fail: { afterTokens: 2, status: 503, message: "overloaded" } }))
      )
    ))

  describe("commands", () => {
    it.scoped("streams the command's real output and exit code, then prompts the model with it", () =>
      Effect.gen(function*() {
        const supervisor = yield* RunSupervisor
        const { events, runId } = yield* supervisor.start(spec({
          command: "printf 'a\\nb'; printf 'oops' >&2; pwd >&2; exit 3",
          prompt: "summarise"
        }))
        const { seen, result } = yield* drain(events)
        expect(Either.isRight(result)).toBe(true)
        expectGapFree(seen, runId)
        const text = (stream: "stdout" | "stderr") =>
          seen.flatMap((event) => event._tag === "CommandOutput" && event.stream === stream ? [event.text] : [])
            .join("")
        expect(text("stdout")).toBe("a\nb")
        const [oops, workspace] = [text("stderr").slice(0, 4), text("stderr").slice(4).trim()]
        expect(oops).toBe("oops")
        const exited = seen.findIndex((event) => event._tag === "CommandExited")
        expect(seen[exited]?._tag === "CommandExited" && seen[exited].exitCode).toBe(3)
        expect(seen.slice(0, exited).every((event) => event._tag === "RunStarted" || event._tag === "CommandOutput"))
          .toBe(true)
        const last = seen.at(-1)
        expect(last?._tag).toBe("RunCompleted")
        // The mock quotes its prompt: the model saw the command's exit code and output.
        expect(last?._tag === "RunCompleted" && last.text).toContain("exited with code 3. Its output: a b")
        expect(path.basename(workspace).startsWith("openclaw-run-")).toBe(true)
        expect(fs.existsSync(workspace)).toBe(false)
      }).pipe(Effect.provide(supervisorLayer(withMock({}))))
    )

    it.scoped("completes without the model when only a command is given", () =>
      Effect.gen(function*() {
        const supervisor = yield* RunSupervisor
        const { events } = yield* supervisor.start(spec({ command: "echo hi" }))
        const { seen } = yield* drain(events)
        expect(seen.map((event) => event._tag)).toEqual([
          "RunStarted",
          "CommandOutput",
          "CommandExited",
          "RunCompleted"
        ])
        const last = seen.at(-1)
        expect(last?._tag === "RunCompleted" && [last.text, last.usage.outputTokens]).toEqual(["", 0])
      }).pipe(Effect.provide(supervisorLayer(withMock({})))))

    it.live("cancel kills a long command and removes its workspace", () =>
      Effect.gen(function*() {
        const supervisor = yield* RunSupervisor
        const { events, runId } = yield* supervisor.start(spec({ command: "pwd; echo $$; exec sleep 30" }))
        let output = ""
        while (output.split("\n").length < 3) {
          const event = yield* events.take
          if (event._tag === "CommandOutput") output += event.text
        }
        const [workspace = "", pidText = ""] = output.split("\n")
        const pid = Number(pidText)
        expect(Number.isInteger(pid) && pid > 0).toBe(true)
        expect(isAlive(pid)).toBe(true)
        expect(fs.existsSync(workspace)).toBe(true)
        const started = Date.now()
        yield* supervisor.cancel(runId)
        expect(Date.now() - started).toBeLessThan(5000)
        expect(isAlive(pid)).toBe(false)
        expect(fs.existsSync(workspace)).toBe(false)
        const error = errorOf((yield* drain(events)).result)
        expect(error?._tag === "RunCancelled" && error.reason).toBe("client")
      }).pipe(Effect.provide(supervisorLayer(withMock({}))), Effect.scoped))
  })

  it.scoped("backpressure: with eventBuffer 4 and nobody reading, the run waits; the reader then gets the rest joined", () =>
    Effect.gen(function*() {
      const supervisor = yield* RunSupervisor
      const { events, runId } = yield* supervisor.start(spec({ prompt: "many" }))
      // One token per ms: the first three fill the buffer behind RunStarted, then the run waits to offer the fourth.
      yield* stepClock(20)
      expect(yield* events.size).toEqual(Option.some(4))
      const [run] = (yield* supervisor.snapshot).runs
      expect(run?.runId).toBe(runId)
      const { seen, result } = yield* drain(events)
      expect(Either.isRight(result)).toBe(true)
      expectGapFree(seen, runId)
      const deltas = deltasOf(seen)
      // Nothing is lost: the tokens that came while the run waited went out joined, in order.
      expect(deltas.slice(0, 4)).toEqual(["w0 ", "w1 ", "w2 ", "w3 "])
      expect(deltas.length).toBeLessThan(20)
      expect(deltas.join("")).toBe(manyWords)
      const last = seen.at(-1)
      expect(last?._tag === "RunCompleted" && last.text).toBe(manyWords)
    }).pipe(
      Effect.provide(supervisorLayer(withMock(
        { reply: manyWords, firstTokenDelayMs: 1, tokenDelayMs: 1 },
        { runs: { eventBuffer: 4 } }
      )))
    ))

  it.scoped("backpressure in bytes: the run waits once its unread events weigh over eventBufferBytes, however few", () =>
    Effect.gen(function*() {
      const supervisor = yield* RunSupervisor
      const { events, runId } = yield* supervisor.start(spec({ prompt: "many" }))
      // An event counts 96 bytes of envelope plus its text: RunStarted and "w0 " fit in 250 bytes, "w1 " goes over,
      // so the run waits with three events unread although the count allows 1024.
      yield* stepClock(20)
      expect(yield* events.size).toEqual(Option.some(3))
      // Each read lets the run go on: one `take` makes room for one more event.
      const first = yield* events.take
      expect(first._tag).toBe("RunStarted")
      yield* stepClock(1)
      expect(yield* events.size).toEqual(Option.some(3))
      const { seen, result } = yield* drain(events)
      expect(Either.isRight(result)).toBe(true)
      expectGapFree([first, ...seen], runId)
      const deltas = deltasOf(seen)
      // The tokens that came while the run waited went out joined, in order, nothing lost.
      expect(deltas.slice(0, 2)).toEqual(["w0 ", "w1 "])
      expect(deltas.length).toBeLessThan(20)
      expect(deltas.join("")).toBe(manyWords)
    }).pipe(
      Effect.provide(supervisorLayer(withMock(
        { reply: manyWords, firstTokenDelayMs: 1, tokenDelayMs: 1 },
        { runs: { eventBufferBytes: 250 } }
      )))
    ))

  it.scoped("runs.tokenFlushMs sends the first delta at once, then joins what arrives within each window", () =>
    Effect.gen(function*() {
      const supervisor = yield* RunSupervisor
      const { events, runId } = yield* supervisor.start(spec({ prompt: "many" }))
      const reader = yield* Effect.fork(drain(events))
      yield* stepClock(40)
      const { seen, result } = yield* Fiber.join(reader)
      expect(Either.isRight(result)).toBe(true)
      expectGapFree(seen, runId)
      const deltas = seen.flatMap((event) => event._tag === "TokenDelta" ? [[event.at, event.text]] : [])
      // Tokens are due at 1, 2, ..., 20 ms; after each delta the run waits 5 ms before taking what has come.
      expect(deltas).toEqual([
        [1, "w0 "],
        [6, "w1 w2 w3 w4 w5 "],
        [11, "w6 w7 w8 w9 w10 "],
        [16, "w11 w12 w13 w14 w15 "],
        [21, "w16 w17 w18 w19"]
      ])
    }).pipe(
      Effect.provide(supervisorLayer(withMock(
        { reply: manyWords, firstTokenDelayMs: 1, tokenDelayMs: 1 },
        { runs: { tokenFlushMs: 5 } }
      )))
    ))

  it.scoped("a run whose queue position and start come in one chunk is running, not queued", () =>
    Effect.gen(function*() {
      const supervisor = yield* RunSupervisor
      const { runId } = yield* supervisor.start(spec({ prompt: "x" }))
      yield* Effect.repeatN(Effect.yieldNow(), 20)
      const [run] = (yield* supervisor.snapshot).runs
      expect([run?.runId, run?.state]).toEqual([runId, "running"])
    }).pipe(
      Effect.provide(
        RunSupervisor.DefaultWithoutDependencies.pipe(
          Layer.provide([
            ProviderRegistry.layer,
            Layer.succeed(AgentRunner, {
              // A pool that reports the place and the start together, then works on.
              execute: (_, emit) =>
                Effect.zipRight(
                  emit(Chunk.make<[AgentOutput, AgentOutput]>(
                    { _tag: "RunQueued", position: 1 },
                    { _tag: "RunStarted", agent: "codex", mode: "thread-bound", model: "mock/mock-1" }
                  )),
                  Effect.never
                )
            })
          ]),
          Layer.provide(GatewayConfig.layerTest(withMock({})))
        )
      )
    ))

  it.scoped("snapshot lists active runs and counts completed and failed ones", () =>
    Effect.gen(function*() {
      const supervisor = yield* RunSupervisor
      const first = yield* supervisor.start(spec({ prompt: "one", mode: "inline" }))
      const reader = yield* Effect.fork(drain(first.events))
      yield* TestClock.adjust(50)
      const second = yield* supervisor.start(spec({ agent: "subagent", prompt: "two" }))
      // A run starts within `start`, up to its first wait: with a thread free, it has left the queue already.
      expect((yield* supervisor.snapshot).runs[1]?.state).toBe("running")
      yield* Effect.repeatN(Effect.yieldNow(), 10)
      const during = yield* supervisor.snapshot
      expect(during.runs.map(({ runId, agent, mode, state, startedAt }) => ({ runId, agent, mode, state, startedAt })))
        .toEqual([
          { runId: first.runId, agent: "codex", mode: "inline", state: "running", startedAt: 0 },
          { runId: second.runId, agent: "subagent", mode: "thread-bound", state: "running", startedAt: 50 }
        ])
      // The first run ends at 100 ms, the second would at 150 ms.
      yield* TestClock.adjust(60)
      yield* Fiber.join(reader)
      yield* supervisor.cancel(second.runId)
      expect(yield* supervisor.snapshot).toEqual({ runs: [], completed: 1, failed: 1 })
    }).pipe(Effect.provide(supervisorLayer(withMock({ reply: "a", firstTokenDelayMs: 100 })))))

  describe("shutdown", () => {
    it.scoped("cancels runs still active after the grace period with RunCancelled(shutdown)", () =>
      Effect.gen(function*() {
        const supervisor = yield* RunSupervisor
        const { events } = yield* supervisor.start(spec({ prompt: "long" }))
        const reader = yield* Effect.fork(drain(events))
        const stopping = yield* Effect.fork(supervisor.shutdown(1000))
        yield* TestClock.adjust(999)
        expect((yield* supervisor.snapshot).runs.length).toBe(1)
        const refused = yield* Effect.flip(supervisor.start(spec({ prompt: "late" })))
        expect(refused._tag).toBe("GatewayShuttingDown")
        yield* TestClock.adjust(1)
        yield* Fiber.join(stopping)
        const error = errorOf((yield* Fiber.join(reader)).result)
        expect(error?._tag === "RunCancelled" && error.reason).toBe("shutdown")
        expect((yield* supervisor.snapshot).runs).toEqual([])
      }).pipe(Effect.provide(supervisorLayer(withMock({ firstTokenDelayMs: 10_000 })))))

    it.scoped("lets runs that finish within the grace period complete", () =>
      Effect.gen(function*() {
        const supervisor = yield* RunSupervisor
        const { events } = yield* supervisor.start(spec({ prompt: "short" }))
        const reader = yield* Effect.fork(drain(events))
        const stopping = yield* Effect.fork(supervisor.shutdown(5000))
        yield* TestClock.adjust(300)
        yield* Fiber.join(stopping)
        const { seen, result } = yield* Fiber.join(reader)
        expect(Either.isRight(result)).toBe(true)
        expect(seen.at(-1)?._tag).toBe("RunCompleted")
        expect(yield* supervisor.snapshot).toEqual({ runs: [], completed: 1, failed: 0 })
      }).pipe(Effect.provide(supervisorLayer(withMock({ reply: "quick", firstTokenDelayMs: 200 })))))
  })
})

const isAlive = (pid: number): boolean => {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}
