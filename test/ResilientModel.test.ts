/** The provider policy wrapper: deadlines, retries before the first part only, Retry-After, interruption, scrubbing. */
import { AiError, LanguageModel, Prompt, type Response, type Tool, type Toolkit } from "@effect/ai"
import { describe, expect, expectTypeOf, it } from "@effect/vitest"
import {
  Chunk,
  Clock,
  Deferred,
  Effect,
  Either,
  Fiber,
  Logger,
  Option,
  Random,
  Ref,
  Stream,
  TestClock
} from "effect"
import { toProviderFailed } from "../src/Agents/AgentLoop.js"
import * as ResilientModel from "../src/Llm/ResilientModel.js"

/** What the fake provider does on one attempt. */
type Step =
  | { readonly _tag: "Fail"; readonly error: AiError.AiError }
  | { readonly _tag: "Hang" }
  | {
    readonly _tag: "Emit"
    readonly tokens: ReadonlyArray<string>
    /** After the tokens: finish the response, go silent for ever, or fail. */
    readonly then: "finish" | "hang" | AiError.AiError
  }

const fail = (error: AiError.AiError): Step => ({ _tag: "Fail", error })
const hang: Step = { _tag: "Hang" }
const emit = (tokens: ReadonlyArray<string>, then: "finish" | "hang" | AiError.AiError = "finish"): Step => ({
  _tag: "Emit",
  tokens,
  then
})

const httpError = (
  status: number,
  options: {
    readonly headers?: Readonly<Record<string, string>>
    readonly description?: string
    readonly url?: string
    readonly requestHeaders?: Readonly<Record<string, string>>
    readonly body?: string
  } = {}
): AiError.HttpResponseError =>
  new AiError.HttpResponseError({
    module: "Fake",
    method: "streamText",
    reason: "StatusCode",
    description: options.description ?? `status ${status}`,
    request: {
      method: "POST",
      url: options.url ?? "https://fake.test/v1/chat",
      urlParams: [],
      hash: Option.none(),
      headers: options.requestHeaders ?? {}
    },
    response: { status, headers: options.headers ?? {} },
    ...(options.body === undefined ? {} : { body: options.body })
  })

const exhausted = new AiError.UnknownError({ module: "Fake", method: "streamText", description: "script exhausted" })

/**
 * A provider that follows `script`, one step per attempt (per request), recording when each attempt started and
 * completing `interrupted` when a request is interrupted.
 */
const scripted = (script: ReadonlyArray<Step>) =>
  Effect.gen(function*() {
    const starts = yield* Ref.make<ReadonlyArray<number>>([])
    const interrupted = yield* Deferred.make<void>()
    const nextStep = Effect.gen(function*() {
      const now = yield* Clock.currentTimeMillis
      const attempt = yield* Ref.modify(starts, (done) => [done.length, [...done, now]])
      return script[attempt] ?? fail(exhausted)
    })
    const silence: Stream.Stream<never> = Stream.fromEffect(
      Effect.never.pipe(Effect.onInterrupt(() => Deferred.succeed(interrupted, undefined)))
    )
    const parts = (step: Step): Stream.Stream<Response.StreamPartEncoded, AiError.AiError> => {
      switch (step._tag) {
        case "Fail":
          return Stream.fail(step.error)
        case "Hang":
          return silence
        case "Emit": {
          const text = Stream.fromIterable<Response.StreamPartEncoded>([
            { type: "text-start", id: "t" },
            ...step.tokens.map((delta): Response.StreamPartEncoded => ({ type: "text-delta", id: "t", delta }))
          ])
          if (step.then === "hang") return Stream.concat(text, silence)
          if (step.then !== "finish") return Stream.concat(text, Stream.fail(step.then))
          return Stream.concat(
            text,
            Stream.make<Array<Response.StreamPartEncoded>>(
              { type: "text-end", id: "t" },
              { type: "finish", reason: "stop", usage: { inputTokens: 1, outputTokens: 1, totalTokens: 2 } }
            )
          )
        }
      }
    }
    const raw = (): Stream.Stream<Response.StreamPartEncoded, AiError.AiError> =>
      Stream.unwrap(Effect.map(nextStep, parts))
    const service = yield* LanguageModel.make({
      streamText: raw,
      generateText: () =>
        Effect.flatMap(nextStep, (step) =>
          step._tag === "Fail"
            ? Effect.fail(step.error)
            : step._tag === "Emit"
            ? Effect.succeed<Array<Response.PartEncoded>>([{ type: "text", text: step.tokens.join("") }])
            : Effect.never)
    })
    return { service, raw, starts, interrupted }
  })

type Fake = Effect.Effect.Success<ReturnType<typeof scripted>>

const options = {
  provider: "fake",
  connectTimeoutMs: 30_000,
  idleTimeoutMs: 60_000,
  maxRetries: 3
}

/** Every part or the failure, in order: a failure after tokens shows both. */
const collect = <E>(parts: Stream.Stream<{ readonly type: string; readonly delta?: string }, E>) =>
  parts.pipe(
    Stream.either,
    Stream.runCollect,
    Effect.map((chunk) => {
      const items = Chunk.toReadonlyArray(chunk)
      const tokens = items.flatMap((item) =>
        Either.isRight(item) && item.right.type === "text-delta" ? [item.right.delta] : []
      )
      const failures = items.flatMap((item) => Either.isLeft(item) ? [item.left] : [])
      return { tokens, failure: failures[0], failures: failures.length }
    })
  )

const statusOf = (error: AiError.AiError | undefined) =>
  error?._tag === "HttpResponseError" ? error.response.status : undefined

/**
 * The policy wraps a provider's stream in two places: its service's `streamText` (`resilient`), and its raw parts
 * (`resilientStream`, for the agents' own decoding). Every stream case runs on both.
 */
const wrappings: ReadonlyArray<{
  readonly name: string
  readonly run: (fake: Fake, options: ResilientModel.ResilientOptions) => ReturnType<typeof collect<AiError.AiError>>
}> = [
  {
    name: "around LanguageModel.streamText",
    run: (fake, options) => collect(ResilientModel.resilient(fake.service, options).streamText({ prompt: "hello" }))
  },
  {
    name: "around a provider's raw parts",
    run: (fake, options) =>
      Effect.scoped(Effect.flatMap(Effect.makeSpanScoped("test"), (span) =>
        collect(
          ResilientModel.resilientStream(fake.raw, options)({
            prompt: Prompt.make("hello"),
            tools: [],
            toolChoice: "none",
            responseFormat: { type: "text" },
            span
          })
        )))
  }
]

/** Jitter factor exactly 1 (`min * (1 - r) + max * r` with r = 0.5), so back-off delays are the nominal ones. */
const noJitter = Effect.withRandom(Random.fixed([0.5]))

describe.each(wrappings)("ResilientModel, $name", ({ run }) => {
  it.effect("a 429 is retried after exactly its Retry-After seconds, not the back-off", () =>
    Effect.gen(function*() {
      const fake = yield* scripted([fail(httpError(429, { headers: { "Retry-After": "7" } })), emit(["hi"])])
      const fiber = yield* Effect.fork(run(fake, options))
      yield* TestClock.adjust("6999 millis")
      expect(yield* Ref.get(fake.starts)).toEqual([0])
      yield* TestClock.adjust("1 millis")
      const result = yield* Fiber.join(fiber)
      expect(yield* Ref.get(fake.starts)).toEqual([0, 7000])
      expect(result).toEqual({ tokens: ["hi"], failure: undefined, failures: 0 })
    }).pipe(noJitter))

  it.effect("Retry-After as an HTTP date waits until that date; retry-after-ms wins; both are capped at 60 s", () =>
    Effect.gen(function*() {
      const date = new Date(5_000).toUTCString()
      const fake = yield* scripted([
        fail(httpError(503, { headers: { "retry-after": date } })),
        fail(httpError(429, { headers: { "retry-after": "2", "retry-after-ms": "1500" } })),
        fail(httpError(429, { headers: { "retry-after": "3600" } })),
        emit(["ok"])
      ])
      const fiber = yield* Effect.fork(run(fake, options))
      yield* TestClock.adjust("2 minutes")
      const result = yield* Fiber.join(fiber)
      expect(yield* Ref.get(fake.starts)).toEqual([0, 5_000, 6_500, 66_500])
      expect(result.tokens).toEqual(["ok"])
    }).pipe(noJitter))

  it.effect("a 503 is retried with exponential back-off maxRetries times, then the last error surfaces", () =>
    Effect.gen(function*() {
      const fake = yield* scripted([
        fail(httpError(503, { description: "first" })),
        fail(httpError(503, { description: "second" })),
        fail(httpError(503, { description: "third" })),
        emit(["never"])
      ])
      const settings = { ...options, maxRetries: 2 }
      const fiber = yield* Effect.fork(run(fake, settings))
      yield* TestClock.adjust("499 millis")
      expect(yield* Ref.get(fake.starts)).toEqual([0])
      yield* TestClock.adjust("1 minute")
      const result = yield* Fiber.join(fiber)
      expect(yield* Ref.get(fake.starts)).toEqual([0, 500, 1_500])
      expect(result.tokens).toEqual([])
      expect(statusOf(result.failure)).toBe(503)
      expect(result.failure?.description).toBe("third")
    }).pipe(noJitter))

  it.effect("the back-off is jittered (here by the lowest factor, 0.8) and capped at 10 s", () =>
    Effect.gen(function*() {
      const fake = yield* scripted([
        ...Array.from({ length: 7 }, () => fail(httpError(500))),
        emit(["done"])
      ])
      const settings = { ...options, maxRetries: 7 }
      const fiber = yield* Effect.fork(run(fake, settings))
      yield* TestClock.adjust("5 minutes")
      const result = yield* Fiber.join(fiber)
      const starts = yield* Ref.get(fake.starts)
      const gaps = starts.slice(1).map((start, index) => start - (starts[index] ?? 0))
      // 500, 1000, ... ms times 0.8, until the cap of 10 s applies after jitter.
      expect(gaps).toEqual([400, 800, 1_600, 3_200, 6_400, 10_000, 10_000])
      expect(result.tokens).toEqual(["done"])
    }).pipe(Effect.withRandom(Random.fixed([0]))))

  it.effect("400, 401 and 404 fail at once, without a retry", () =>
    Effect.gen(function*() {
      for (const status of [400, 401, 404]) {
        const fake = yield* scripted([fail(httpError(status)), emit(["never"])])
        const fiber = yield* Effect.fork(run(fake, options))
        yield* TestClock.adjust("2 minutes")
        const result = yield* Fiber.join(fiber)
        expect(yield* Ref.get(fake.starts)).toHaveLength(1)
        expect(statusOf(result.failure)).toBe(status)
      }
    }))

  it.effect("a transport error is retried; a malformed output is not", () =>
    Effect.gen(function*() {
      const reset = new AiError.HttpRequestError({
        module: "Fake",
        method: "streamText",
        reason: "Transport",
        description: "ECONNRESET",
        request: { method: "POST", url: "https://fake.test", urlParams: [], hash: Option.none(), headers: {} }
      })
      const retried = yield* scripted([fail(reset), emit(["back"])])
      const fiber = yield* Effect.fork(run(retried, options))
      yield* TestClock.adjust("1 minute")
      expect((yield* Fiber.join(fiber)).tokens).toEqual(["back"])
      expect(yield* Ref.get(retried.starts)).toHaveLength(2)

      const malformed = new AiError.MalformedOutput({ module: "Fake", method: "streamText", description: "bad json" })
      const final = yield* scripted([fail(malformed), emit(["never"])])
      const second = yield* Effect.fork(run(final, options))
      yield* TestClock.adjust("1 minute")
      expect((yield* Fiber.join(second)).failure?._tag).toBe("MalformedOutput")
      expect(yield* Ref.get(final.starts)).toHaveLength(1)
    }))

  it.effect("a failure after the first token is final: no retry, no token repeated", () =>
    Effect.gen(function*() {
      const fake = yield* scripted([emit(["a ", "b "], httpError(503)), emit(["a ", "b ", "c"])])
      const fiber = yield* Effect.fork(run(fake, options))
      yield* TestClock.adjust("2 minutes")
      const result = yield* Fiber.join(fiber)
      expect(result.tokens).toEqual(["a ", "b "])
      expect(statusOf(result.failure)).toBe(503)
      expect(result.failures).toBe(1)
      expect(yield* Ref.get(fake.starts)).toEqual([0])
    }))

  it.effect("no first part within connectTimeoutMs: the hung request is interrupted and retried", () =>
    Effect.gen(function*() {
      const fake = yield* scripted([hang, emit(["late"])])
      const settings = { ...options, connectTimeoutMs: 1_000 }
      const fiber = yield* Effect.fork(run(fake, settings))
      yield* TestClock.adjust("999 millis")
      expect(yield* Ref.get(fake.starts)).toEqual([0])
      expect(yield* Deferred.isDone(fake.interrupted)).toBe(false)
      yield* TestClock.adjust("1 millis")
      expect(yield* Deferred.isDone(fake.interrupted)).toBe(true)
      yield* TestClock.adjust("500 millis")
      const result = yield* Fiber.join(fiber)
      expect(yield* Ref.get(fake.starts)).toEqual([0, 1_500])
      expect(result.tokens).toEqual(["late"])
    }).pipe(noJitter))

  it.effect("connect timeouts past maxRetries surface as a ProviderFailed reason naming the provider", () =>
    Effect.gen(function*() {
      const fake = yield* scripted([hang, hang])
      const settings = { ...options, connectTimeoutMs: 1_000, maxRetries: 1 }
      const fiber = yield* Effect.fork(run(fake, settings))
      yield* TestClock.adjust("1 minute")
      const result = yield* Fiber.join(fiber)
      expect(yield* Ref.get(fake.starts)).toEqual([0, 1_500])
      expect(result.failure?.description).toBe("no response from fake within 1000 ms")
      const failure = result.failure === undefined ? undefined : toProviderFailed("fake", result.failure)
      expect(failure?.message).toBe("provider fake failed: no response from fake within 1000 ms")
    }).pipe(noJitter))

  it.effect("silence longer than idleTimeoutMs after the first part fails the call, without a retry", () =>
    Effect.gen(function*() {
      const fake = yield* scripted([emit(["a "], "hang"), emit(["a ", "b"])])
      const timeouts = { connectTimeoutMs: 1_000, idleTimeoutMs: 2_000 }
      const settings = { ...options, ...timeouts }
      const fiber = yield* Effect.fork(run(fake, settings))
      yield* TestClock.adjust("1999 millis")
      expect(Option.isNone(yield* Fiber.poll(fiber))).toBe(true)
      yield* TestClock.adjust("1 millis")
      const result = yield* Fiber.join(fiber)
      expect(result.tokens).toEqual(["a "])
      expect(result.failure?.description).toBe("fake stopped streaming: no part within 2000 ms")
      expect(yield* Deferred.isDone(fake.interrupted)).toBe(true)
      yield* TestClock.adjust("1 minute")
      expect(yield* Ref.get(fake.starts)).toEqual([0])
    }))

  it.effect("interrupting the consumer interrupts the provider's request, before and after the first part", () =>
    Effect.gen(function*() {
      for (const step of [hang, emit(["a "], "hang")]) {
        const fake = yield* scripted([step, emit(["never"])])
        const fiber = yield* Effect.fork(run(fake, options))
        yield* TestClock.adjust("100 millis")
        expect(yield* Deferred.isDone(fake.interrupted)).toBe(false)
        yield* Fiber.interrupt(fiber)
        expect(yield* Deferred.isDone(fake.interrupted)).toBe(true)
        yield* TestClock.adjust("5 minutes")
        expect(yield* Ref.get(fake.starts)).toHaveLength(1)
      }
    }))

  it.effect("secrets are scrubbed from the failure and never reach a log line", () =>
    Effect.gen(function*() {
      const secret = "sk-test-0123456789"
      const leaky = (status: number) =>
        httpError(status, {
          description: `invalid key ${secret} for this project`,
          url: `https://fake.test/v1/chat?key=${secret}`,
          requestHeaders: { authorization: `Bearer ${secret}` },
          body: `{"error":"key ${secret} rejected"}`
        })
      const fake = yield* scripted([fail(leaky(503)), fail(leaky(401))])
      const logs: Array<string> = []
      const logger = Logger.make(({ annotations, message }) => {
        logs.push(JSON.stringify({ message, annotations: [...annotations] }))
      })
      const settings = { ...options, secrets: ["", secret] }
      const fiber = yield* Effect.fork(
        run(fake, settings).pipe(Effect.provide(Logger.replace(Logger.defaultLogger, logger)))
      )
      yield* TestClock.adjust("1 minute")
      const result = yield* Fiber.join(fiber)
      expect(yield* Ref.get(fake.starts)).toHaveLength(2)
      const failure = result.failure
      expect(statusOf(failure)).toBe(401)
      expect(failure?.description).toBe("invalid key [redacted] for this project")
      expect(failure?.message).not.toContain(secret)
      expect(JSON.stringify(failure)).not.toContain(secret)
      expect(failure?._tag === "HttpResponseError" ? failure.request.headers : {}).toEqual({
        authorization: "Bearer [redacted]"
      })
      expect(failure === undefined ? "" : toProviderFailed("fake", failure).message).not.toContain(secret)
      expect(logs).toHaveLength(1)
      expect(logs[0]).toContain("503 invalid key [redacted] for this project; retry 1/3")
      expect(logs.join("\n")).not.toContain(secret)
      expect(logs.join("\n").toLowerCase()).not.toContain("authorization")
    }))
})

describe("ResilientModel", () => {
  it.effect("generateText is retried on 503 and fails at once on 400", () =>
    Effect.gen(function*() {
      const fake = yield* scripted([fail(httpError(503)), emit(["whole ", "answer"]), fail(httpError(400))])
      const model = ResilientModel.resilient(fake.service, options)
      const fiber = yield* Effect.fork(model.generateText({ prompt: "hello" }))
      yield* TestClock.adjust("1 minute")
      expect((yield* Fiber.join(fiber)).text).toBe("whole answer")
      const second = yield* Effect.fork(Effect.either(model.generateText({ prompt: "hello" })))
      yield* TestClock.adjust("1 minute")
      const failed = yield* Fiber.join(second)
      expect(Either.isLeft(failed) ? statusOf(failed.left) : undefined).toBe(400)
      expect(yield* Ref.get(fake.starts)).toEqual([0, 500, 60_000])
    }).pipe(noJitter))

  it("an AiError is in every branch of LanguageModel.ExtractError (the wrapper's error widening relies on it)", () => {
    type Tools = Record<string, Tool.Any>
    type Handled = Toolkit.WithHandler<Tools>
    expectTypeOf<AiError.AiError>().toExtend<LanguageModel.ExtractError<{ prompt: string }>>()
    expectTypeOf<AiError.AiError>().toExtend<
      LanguageModel.ExtractError<{ prompt: string; toolkit: Handled; disableToolCallResolution: true }>
    >()
    expectTypeOf<AiError.AiError>().toExtend<
      LanguageModel.ExtractError<
        { prompt: string; toolkit: Effect.Effect<Handled, Error>; disableToolCallResolution: true }
      >
    >()
    expectTypeOf<AiError.AiError>().toExtend<LanguageModel.ExtractError<{ prompt: string; toolkit: Handled }>>()
    expectTypeOf<AiError.AiError>().toExtend<
      LanguageModel.ExtractError<{ prompt: string; toolkit: Effect.Effect<Handled, Error> }>
    >()
  })

  it("isRetryable: 408, 429, 5xx, transport errors, cut 2xx bodies and the connect deadline only", () => {
    expect([400, 401, 403, 404, 408, 409, 422, 429, 500, 502, 503, 529].filter((status) =>
      ResilientModel.isRetryable(httpError(status))
    )).toEqual([408, 429, 500, 502, 503, 529])
    expect(ResilientModel.isRetryable(ResilientModel.connectTimeoutError("fake", 1))).toBe(true)
    // A body cut mid-stream (the @effect/ai clients: reason "Decode" on a 200) is a connection reset.
    const cut = (status: number) =>
      new AiError.HttpResponseError({ ...httpError(status), reason: "Decode", description: "the body was cut" })
    expect(ResilientModel.isRetryable(cut(200))).toBe(true)
    expect(ResilientModel.isRetryable(cut(400))).toBe(false)
    expect(ResilientModel.isRetryable(exhausted)).toBe(false)
    expect(ResilientModel.isRetryable(new Error("not an AiError"))).toBe(false)
  })
})
