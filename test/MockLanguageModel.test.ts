/** The mock provider: exact text, pacing on the TestClock, scripted tool calls (first turn only), failures, usage. */
import { AiError, type LanguageModel, type Response, type Tool } from "@effect/ai"
import { describe, expect, it } from "@effect/vitest"
import * as Prompt from "@effect/ai/Prompt"
import { Chunk, Clock, Duration, Effect, Fiber, Ref, Stream, TestClock, type Tracer } from "effect"
import * as AgentTools from "../src/Agents/AgentTools.js"
import type { OpenclawConfigInput } from "../src/Config/ConfigSchema.js"
import { GatewayConfig } from "../src/Config/GatewayConfig.js"
import * as MockLanguageModel from "../src/Llm/MockLanguageModel.js"

type MockInput = NonNullable<NonNullable<NonNullable<OpenclawConfigInput["models"]>["providers"]>["mock"]>

const mock = (input: MockInput) => {
  const { config } = GatewayConfig.fromInput({ models: { providers: { mock: input } } })
  return MockLanguageModel.make(config.models.providers.mock)
}

const instant = { firstTokenDelayMs: 0, tokenDelayMs: 0 } as const

const toolkit = AgentTools.toolkit

const streamAll = (model: LanguageModel.Service, prompt: string) =>
  model.streamText({ prompt, toolkit, disableToolCallResolution: true }).pipe(
    Stream.runCollect,
    Effect.map(Chunk.toReadonlyArray)
  )

/** `pushParts` with the raw options the agents hand a provider (see Agents/ModelTurn), under a span of its own. */
const push = <E>(
  input: MockInput,
  onParts: (parts: ReadonlyArray<Response.StreamPartEncoded>) => Effect.Effect<unknown, E>
) => Effect.useSpan("mock call", (span) => MockLanguageModel.pushParts(section(input), rawOptions(span), onParts))

const rawOptions = (span: Tracer.Span): LanguageModel.ProviderOptions => ({
  prompt: Prompt.make("go"),
  tools: [],
  toolChoice: "auto",
  responseFormat: { type: "text" },
  span
})

const section = (input: MockInput) =>
  GatewayConfig.fromInput({ models: { providers: { mock: input } } }).config.models.providers.mock

/** The batches `pushParts` hands over, with `onParts` taking `readMs` of the clock per batch, and how it ended. */
const pushedBatches = (input: MockInput, readMs = 0) =>
  Effect.gen(function*() {
    const batches: Array<ReadonlyArray<Response.StreamPartEncoded>> = []
    const outcome = yield* push(input, (parts) =>
      Effect.zipRight(Effect.sync(() => batches.push(parts)), readMs === 0 ? Effect.void : Effect.sleep(readMs))).pipe(
        Effect.either
      )
    return { batches, outcome }
  })

const encodedDeltas = (parts: ReadonlyArray<Response.StreamPartEncoded>) =>
  parts.flatMap((part) => part.type === "text-delta" ? [part.delta] : [])

/**
 * "a b c" paced 100 ms to the first token, then 20 ms apart, on the TestClock: `read` reads the mock configured with
 * `input` and hands each token it sees to `record`.
 */
const expectPaced = <E>(
  read: (input: MockInput, record: (tokens: ReadonlyArray<string>) => Effect.Effect<void>) => Effect.Effect<unknown, E>
) =>
  Effect.gen(function*() {
    const seen = yield* Ref.make<ReadonlyArray<string>>([])
    const fiber = yield* Effect.fork(
      read({ reply: "a b c", firstTokenDelayMs: 100, tokenDelayMs: 20 }, (tokens) =>
        Ref.update(seen, (all) => [...all, ...tokens]))
    )
    yield* TestClock.adjust(99)
    expect(yield* Ref.get(seen)).toEqual([])
    yield* TestClock.adjust(1)
    expect(yield* Ref.get(seen)).toEqual(["a "])
    yield* TestClock.adjust(19)
    expect(yield* Ref.get(seen)).toEqual(["a "])
    yield* TestClock.adjust(1)
    expect(yield* Ref.get(seen)).toEqual(["a ", "b "])
    yield* TestClock.adjust(20)
    expect(yield* Ref.get(seen)).toEqual(["a ", "b ", "c"])
    yield* Fiber.join(fiber)
  })

const deltas = (parts: ReadonlyArray<Response.StreamPart<Record<string, Tool.Any>>>) =>
  parts.flatMap((part) => part.type === "text-delta" ? [part.delta] : [])

describe("MockLanguageModel", () => {
  it("tokenize keeps the whitespace after each word, so the tokens reassemble the text exactly", () => {
    for (const text of ["", "  ", "one", "  lead and trail  ", "a\n\nb\tc  d", "Mock reply to \"x\": y. "]) {
      expect(MockLanguageModel.tokenize(text).join("")).toBe(text)
    }
    expect(MockLanguageModel.tokenize("Hello, brave  new\nworld")).toEqual(["Hello, ", "brave  ", "new\n", "world"])
  })

  it.effect("streams the configured reply as word tokens that reassemble it exactly", () =>
    Effect.gen(function*() {
      const reply = "Hello, brave  new\nworld!  Bye."
      const model = yield* mock({ ...instant, reply })
      const parts = yield* streamAll(model, "say hello")
      const tokens = deltas(parts)
      expect(tokens).toEqual(["Hello, ", "brave  ", "new\n", "world!  ", "Bye."])
      expect(tokens.join("")).toBe(reply)
      expect(parts.map((part) => part.type)).toEqual([
        "text-start",
        ...tokens.map(() => "text-delta"),
        "text-end",
        "finish"
      ])
    }))

  it.effect("by default quotes the prompt in a reply of several sentences", () =>
    Effect.gen(function*() {
      const model = yield* mock(instant)
      const tokens = deltas(yield* streamAll(model, "What  is\nopenclaw?"))
      const text = tokens.join("")
      expect(text).toBe(MockLanguageModel.defaultReply("What  is\nopenclaw?"))
      expect(text.startsWith("Mock reply to \"What is openclaw?\": ")).toBe(true)
      expect(tokens.length).toBeGreaterThan(20)
    }))

  it.effect("waits firstTokenDelayMs, then tokenDelayMs between tokens, on the clock", () =>
    expectPaced((input, record) =>
      Effect.flatMap(mock(input), (model) =>
        model.streamText({ prompt: "go" }).pipe(
          Stream.runForEach((part) => part.type === "text-delta" ? record([part.delta]) : Effect.void)
        ))
    ))

  it.effect("keeps its schedule when the reader is late: one pull takes every token already due, together", () =>
    Effect.gen(function*() {
      const model = yield* mock({ reply: "a b c d e", firstTokenDelayMs: 100, tokenDelayMs: 20 })
      const pulls: Array<ReadonlyArray<string>> = []
      const fiber = yield* model.streamText({ prompt: "go" }).pipe(
        Stream.runForEachChunk((parts) =>
          Effect.zipRight(
            Effect.sync(() => {
              const tokens = deltas(Chunk.toReadonlyArray(parts))
              if (tokens.length > 0) pulls.push(tokens)
            }),
            // A slow reader: 50 ms to handle each chunk.
            Effect.sleep(50)
          )
        ),
        Effect.fork
      )
      // Due at 100, 120, 140, 160, 180: read at 100, then at 150 (b, c due), then at 200 (d, e due).
      yield* TestClock.adjust(300)
      yield* Fiber.join(fiber)
      expect(pulls).toEqual([["a "], ["b ", "c "], ["d ", "e"]])
    }))

  it.effect("emits the scripted tool calls after the text, then a finish part with usage", () =>
    Effect.gen(function*() {
      const model = yield* mock({
        ...instant,
        reply: "Let me look.",
        toolCalls: [{ name: "shell", params: { command: "ls -la" } }, { name: "shell" }]
      })
      const parts = yield* streamAll(model, "list the files please")
      expect(parts.map((part) => part.type)).toEqual([
        "text-start",
        "text-delta",
        "text-delta",
        "text-delta",
        "text-end",
        "tool-call",
        "tool-call",
        "finish"
      ])
      const calls = parts.flatMap((part) => part.type === "tool-call" ? [part] : [])
      expect(calls.map(({ id, name, params }) => ({ id, name, params }))).toEqual([
        { id: "mock-call-0", name: "shell", params: { command: "ls -la" } },
        { id: "mock-call-1", name: "shell", params: {} }
      ])
      const finish = parts.at(-1)
      expect(finish?.type === "finish" ? finish.reason : undefined).toBe("tool-calls")
    }))

  it.effect("asks for its tool calls on the first turn only; once the prompt has tool results it answers", () =>
    Effect.gen(function*() {
      const toolCalls = [{ name: "shell", params: { command: "ls" } }]
      const laterTurn = [
        { role: "user", content: "list the files" },
        {
          role: "assistant",
          content: [{ type: "tool-call", id: "mock-call-0", name: "shell", params: { command: "ls" } }]
        },
        {
          role: "tool",
          content: [{
            type: "tool-result",
            id: "mock-call-0",
            name: "shell",
            isFailure: false,
            result: { exitCode: 0, output: "a.txt\n" },
            providerExecuted: false
          }]
        }
      ] as const
      const scripted = yield* mock({ ...instant, toolCalls })
      const first = yield* streamAll(scripted, "list the files")
      expect(first.filter((part) => part.type === "tool-call").length).toBe(1)
      const later = yield* scripted.streamText({ prompt: laterTurn, toolkit, disableToolCallResolution: true }).pipe(
        Stream.runCollect,
        Effect.map(Chunk.toReadonlyArray)
      )
      expect(later.some((part) => part.type === "tool-call")).toBe(false)
      const finish = later.at(-1)
      expect(finish?.type === "finish" && finish.reason).toBe("stop")
      expect(deltas(later).join("")).toBe(
        "Mock reply after 1 tool result: shell: {\"exitCode\":0,\"output\":\"a.txt\\n\"}. " +
          "No real model was called and no network was used."
      )
      // A configured reply is the text of every turn.
      const replying = yield* mock({ ...instant, reply: "Done.", toolCalls })
      const text = yield* replying.streamText({ prompt: laterTurn, toolkit, disableToolCallResolution: true }).pipe(
        Stream.runCollect,
        Effect.map((parts) => deltas(Chunk.toReadonlyArray(parts)).join(""))
      )
      expect(text).toBe("Done.")
    }))

  it.effect("reports usage: input = words of the prompt, output = tokens emitted", () =>
    Effect.gen(function*() {
      const model = yield* mock({ ...instant, reply: "one two three four" })
      const parts = yield* streamAll(model, "  count   these five\nwords now ")
      const finish = parts.at(-1)
      expect(finish?.type).toBe("finish")
      if (finish?.type !== "finish") return
      expect(finish.reason).toBe("stop")
      expect(finish.usage.inputTokens).toBe(5)
      expect(finish.usage.outputTokens).toBe(4)
      expect(finish.usage.totalTokens).toBe(9)
    }))

  it.effect("fails after `afterTokens` tokens with an HTTP error carrying the scripted status", () =>
    Effect.gen(function*() {
      const fail = { afterTokens: 2, status: 429, message: "slow down" }
      const model = yield* mock({ ...instant, reply: "a b c d e", fail })
      const seen: Array<string> = []
      const error = yield* model.streamText({ prompt: "x" }).pipe(
        Stream.runForEach((part) => Effect.sync(() => part.type === "text-delta" && seen.push(part.delta))),
        Effect.flip
      )
      expect(seen).toEqual(["a ", "b "])
      expect(error._tag).toBe("HttpResponseError")
      if (error._tag !== "HttpResponseError") return
      expect(error.response.status).toBe(429)
      expect(error.description).toBe("slow down")
    }))

  it.effect("a scripted failure without status is an UnknownError with the message", () =>
    Effect.gen(function*() {
      const model = yield* mock({ ...instant, reply: "a b", fail: { afterTokens: 0 } })
      const error = yield* Effect.flip(Stream.runDrain(model.streamText({ prompt: "x" })))
      expect(error).toBeInstanceOf(AiError.UnknownError)
      expect(error.description).toBe("scripted mock failure")
    }))

  it.effect("generateText returns the same text, tool calls and usage in one response", () =>
    Effect.gen(function*() {
      const reply = "Whole  answer\nhere."
      const model = yield* mock({ ...instant, reply, toolCalls: [{ name: "shell", params: { command: "pwd" } }] })
      const response = yield* model.generateText({ prompt: "two words", toolkit, disableToolCallResolution: true })
      expect(response.text).toBe(reply)
      expect(response.toolCalls.map((call) => [call.name, call.params])).toEqual([["shell", { command: "pwd" }]])
      expect(response.usage.inputTokens).toBe(2)
      expect(response.usage.outputTokens).toBe(3)
    }))
})

describe("MockLanguageModel.pushParts (the raw parts the agents read)", () => {
  it.effect("hands over exactly the parts of the stream, tool calls and usage included", () =>
    Effect.gen(function*() {
      const input = { ...instant, reply: "one two  three", toolCalls: [{ name: "shell", params: { command: "ls" } }] }
      const streamed = yield* Effect.useSpan("mock call", (span) =>
        Stream.runCollect(MockLanguageModel.streamParts(section(input), rawOptions(span))))
      const { batches, outcome } = yield* pushedBatches(input)
      expect(outcome._tag).toBe("Right")
      expect(batches.flat()).toEqual(Chunk.toReadonlyArray(streamed))
      expect(encodedDeltas(batches.flat())).toEqual(["one ", "two  ", "three"])
      expect(batches.flat().map((part) => part.type)).toContain("tool-call")
    }))

  it.effect("waits firstTokenDelayMs, then tokenDelayMs between tokens, on the clock", () =>
    expectPaced((input, record) => push(input, (parts) => record(encodedDeltas(parts)))))

  it.effect("waits for each batch to be taken, then hands over every token due meanwhile together", () =>
    Effect.gen(function*() {
      const paced = { reply: "a b c d e", firstTokenDelayMs: 100, tokenDelayMs: 20 }
      const fiber = yield* Effect.fork(pushedBatches(paced, 50))
      // Due at 100, 120, 140, 160, 180; each batch takes 50 ms: taken at 100, then at 150 (b, c), then at 200 (d, e).
      yield* TestClock.adjust(300)
      const { batches } = yield* Fiber.join(fiber)
      const tokenBatches = batches.map(encodedDeltas).filter((tokens) => tokens.length > 0)
      expect(tokenBatches).toEqual([["a "], ["b ", "c "], ["d ", "e"]])
    }))

  it.effect("takes a part when its sleep is over, even if the clock reads it a fraction of a millisecond short", () =>
    Effect.gen(function*() {
      // Node counts a timer's delay from the event loop's cached time, in whole milliseconds: a timer may fire while
      // a fresh reading of the clock is still short of the part's due time. This clock's sleeps end half a
      // millisecond short; reading the clock again would sleep again and again (or a whole millisecond, on Node).
      let now = 0
      let sleeps = 0
      const shortSleeper: Clock.Clock = {
        [Clock.ClockTypeId]: Clock.ClockTypeId,
        unsafeCurrentTimeMillis: () => now,
        currentTimeMillis: Effect.sync(() => now),
        unsafeCurrentTimeNanos: () => BigInt(Math.round(now * 1e6)),
        currentTimeNanos: Effect.sync(() => BigInt(Math.round(now * 1e6))),
        sleep: (duration) =>
          Effect.suspend(() => {
            if (++sleeps > 10) return Effect.die("slept again for a part whose sleep was over")
            now += Math.max(0, Duration.toMillis(duration) - 0.5)
            return Effect.void
          })
      }
      const { batches, outcome } = yield* pushedBatches({ reply: "a b c", firstTokenDelayMs: 100, tokenDelayMs: 20 })
        .pipe(Effect.withClock(shortSleeper))
      expect(outcome._tag).toBe("Right")
      expect(batches.map(encodedDeltas).filter((tokens) => tokens.length > 0)).toEqual([["a "], ["b "], ["c"]])
      // One sleep per due time (100, 120, 140), none more.
      expect(sleeps).toBe(3)
    }))

  it.effect("fails after `afterTokens` tokens with the scripted error, once those tokens are handed over", () =>
    Effect.gen(function*() {
      const { batches, outcome } = yield* pushedBatches({
        ...instant,
        reply: "a b c d e",
        fail: { afterTokens: 2, status: 503, message: "overloaded" }
      })
      expect(encodedDeltas(batches.flat())).toEqual(["a ", "b "])
      expect(outcome._tag === "Left" && outcome.left._tag).toBe("HttpResponseError")
      if (outcome._tag !== "Left" || outcome.left._tag !== "HttpResponseError") return
      expect(outcome.left.response.status).toBe(503)
    }))

  it.effect("stops when its consumer fails, with the consumer's error, handing over nothing more", () =>
    Effect.gen(function*() {
      const taken: Array<ReadonlyArray<string>> = []
      const outcome = yield* push(
        { reply: "a b c", firstTokenDelayMs: 10, tokenDelayMs: 10 },
        (parts) => {
          taken.push(encodedDeltas(parts))
          return encodedDeltas(parts).includes("b ") ? Effect.fail("reader gave up" as const) : Effect.void
        }
      ).pipe(Effect.either, Effect.fork)
      yield* TestClock.adjust(100)
      const result = yield* Fiber.join(outcome)
      expect(result._tag === "Left" && result.left).toBe("reader gave up")
      expect(taken.flat()).toEqual(["a ", "b "])
    }))
})
