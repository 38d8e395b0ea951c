/**
 * The failures every streaming provider must turn into `AiError`s without leaking its key, run against each
 * provider's fake server: 429 (status, Retry-After, body), 500, a connection cut mid-stream, a body that ends before
 * the terminal event, a refused connection, and interruption closing the HTTP connection. Each provider test file
 * describes how to reach its fake and what its wire looks like; the cases are written once.
 */
import type { LanguageModel } from "@effect/ai"
import type * as HttpClient from "@effect/platform/HttpClient"
import { expect, type Vitest } from "@effect/vitest"
import { Effect, Fiber, type Scope, Stream } from "effect"
import * as Fake from "./FakeSseServer.js"
import { collect, expectNoSecret, failureOf, stream } from "./ProviderStreams.js"

export interface ProviderUnderTest {
  readonly apiKey: string
  /** The request header that carries the key (reported redacted). */
  readonly keyHeader: string
  /** A model of the provider pointed at `baseUrl`. */
  readonly modelAt: (baseUrl: string) => Effect.Effect<LanguageModel.Service, never, HttpClient.HttpClient>
  /** The provider's fake server (scoped) and the base URL its model is given. */
  readonly server: Effect.Effect<Fake.FakeServer & { readonly baseUrl: string }, never, Scope.Scope>
  /** A 429 whose message contains `message`, with `retry-after` as given. */
  readonly rateLimited: (message: string, retryAfter: string) => Fake.Reply
  /** A 500 whose message contains `message`. */
  readonly serverError: (message: string) => Fake.Reply
  /** The events of a reply up to (and including) a first text delta of `text`, without the terminal event. */
  readonly startOfText: (text: string) => ReadonlyArray<Fake.Step>
  /** The name of the terminal event a complete stream ends with. */
  readonly terminalEvent: string
}

export const failureCases = (it: Vitest.MethodsNonLive<HttpClient.HttpClient, true>, provider: ProviderUnderTest) => {
  const setup = Effect.gen(function*() {
    const server = yield* provider.server
    return { server, model: yield* provider.modelAt(server.baseUrl) }
  })
  const expectNoKey = (error: Parameters<typeof expectNoSecret>[0]) => expectNoSecret(error, provider.apiKey)

  it.scoped("429: an HttpResponseError with the status, the retry-after header and the body, without the key", () =>
    Effect.gen(function*() {
      const { server, model } = yield* setup
      server.reply(provider.rateLimited("Rate limit reached for the test", "7"))
      const error = failureOf(yield* collect(model))
      expect(error._tag).toBe("HttpResponseError")
      if (error._tag !== "HttpResponseError") return
      expect(error.response.status).toBe(429)
      expect(error.response.headers["retry-after"]).toBe("7")
      expect(error.message).toContain("Rate limit reached for the test")
      // The request as reported keeps its headers but not the key's value.
      expect(error.request.headers[provider.keyHeader]).toBe("<redacted>")
      expectNoKey(error)
    }))

  it.scoped("500: an HttpResponseError with the status", () =>
    Effect.gen(function*() {
      const { server, model } = yield* setup
      server.reply(provider.serverError("Internal server error"))
      const error = failureOf(yield* collect(model))
      expect(error._tag === "HttpResponseError" && error.response.status).toBe(500)
      expect(error.message).toContain("Internal server error")
      expectNoKey(error)
    }))

  it.scoped("a connection cut mid-stream fails with an AiError instead of hanging", () =>
    Effect.gen(function*() {
      const { server, model } = yield* setup
      server.reply(Fake.eventStream([...provider.startOfText("Hel"), Fake.pause(20), Fake.cut]))
      const error = failureOf(yield* collect(model))
      // undici reports the cut while the body is read: a "Decode" response error with the 200 already received.
      expect(error._tag === "HttpResponseError" && [error.reason, error.response.status]).toEqual(["Decode", 200])
      expect(error.message).toContain("the connection was cut")
      expectNoKey(error)
    }))

  it.scoped(`a body that ends cleanly before ${provider.terminalEvent} fails too`, () =>
    Effect.gen(function*() {
      const { server, model } = yield* setup
      server.reply(Fake.eventStream(provider.startOfText("Hel")))
      const error = failureOf(yield* collect(model))
      expect(error.message).toContain(`the stream ended before ${provider.terminalEvent}`)
    }))

  it.scoped("a refused connection is an HttpRequestError without the key, even in its cause", () =>
    Effect.gen(function*() {
      const closed = yield* Effect.scoped(Effect.map(provider.server, (server) => server.baseUrl))
      const error = failureOf(yield* collect(yield* provider.modelAt(closed)))
      expect(error._tag).toBe("HttpRequestError")
      expectNoKey(error)
    }))

  it.scoped("interrupting the stream closes the HTTP connection", () =>
    Effect.gen(function*() {
      const { server, model } = yield* setup
      server.reply(Fake.eventStream([...provider.startOfText("first"), Fake.hang]))
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
}
