/**
 * Wraps any provider's `LanguageModel.Service` with the connection policy of `models.providers.*`: a deadline for the
 * first stream part, a deadline between parts, jittered exponential retries (honouring `Retry-After`) only while
 * nothing was streamed yet, and secrets scrubbed from the errors that pass through.
 */
import * as AiError from "@effect/ai/AiError"
import type * as LanguageModel from "@effect/ai/LanguageModel"
import { Chunk, Clock, Duration, Effect, Inspectable, Option, Ref, Schedule, Stream } from "effect"

export interface ResilientOptions {
  /** The provider's name, as in `ProviderFailed.provider`; it names the provider in timeout errors and log lines. */
  readonly provider: string
  /** Longest wait for the first stream part of an attempt, in ms; missing it fails the attempt (retryable). */
  readonly connectTimeoutMs: number
  /** Longest silence between two stream parts once streaming, in ms; missing it fails the call (not retried). */
  readonly idleTimeoutMs: number
  /** Retries after the first attempt, on 408, 429, 5xx, transport errors and the connect timeout. */
  readonly maxRetries: number
  /** Values (API keys) replaced by `[redacted]` in the errors that pass through; empty strings are ignored. */
  readonly secrets?: ReadonlyArray<string>
}

/** First back-off delay; doubled per retry, jittered by +-20% (`Schedule.jittered`). */
export const backoffBase = Duration.millis(500)
/** Longest computed back-off delay. */
export const backoffCap = Duration.seconds(10)
/** Longest wait a `Retry-After` (or `retry-after-ms`) header can impose; a longer one is shortened to this. */
export const retryAfterCap = Duration.seconds(60)

const moduleName = "ResilientModel"
const redacted = "[redacted]"

/** The deadline errors: `UnknownError`s of this module, so `toProviderFailed` reports their description. */
export const connectTimeoutError = (provider: string, timeoutMs: number): AiError.UnknownError =>
  new AiError.UnknownError({
    module: moduleName,
    method: "streamText",
    description: `no response from ${provider} within ${timeoutMs} ms`
  })

export const idleTimeoutError = (provider: string, timeoutMs: number): AiError.UnknownError =>
  new AiError.UnknownError({
    module: moduleName,
    method: "streamText",
    description: `${provider} stopped streaming: no part within ${timeoutMs} ms`
  })

const retryableStatus = (status: number): boolean => status === 408 || status === 429 || status >= 500

/**
 * Whether an attempt that failed with this error (before any part was streamed) may be tried again: 408, 429 and
 * 5xx responses, transport errors (refused or reset connections) and this module's deadline (only the connect
 * deadline can fire before a part). Anything else (4xx, malformed input or output, tool handler errors) is final.
 */
export const isRetryable = (error: unknown): boolean => {
  if (!AiError.isAiError(error)) return false
  switch (error._tag) {
    case "HttpResponseError":
      // A 2xx whose streamed body failed to read is how the @effect/ai clients report a connection cut mid-body.
      return retryableStatus(error.response.status) || (error.reason === "Decode" && error.response.status < 300)
    case "HttpRequestError":
      return error.reason === "Transport"
    case "UnknownError":
      return error.module === moduleName
    default:
      return false
  }
}

const header = (headers: Readonly<Record<string, string>>, name: string): string | undefined => {
  for (const [key, value] of Object.entries(headers)) {
    // Providers redact sensitive headers into `Redacted` values despite the `string` type: skip anything else.
    if (key.toLowerCase() === name && typeof value === "string") return value.trim()
  }
  return undefined
}

/**
 * The wait a response asks for, in ms: `retry-after-ms` (OpenAI), else `Retry-After` in seconds or as an HTTP date
 * (relative to `now`); `undefined` without a usable header. Not bounded here.
 */
export const retryAfterMillis = (error: unknown, now: number): number | undefined => {
  if (!AiError.isAiError(error) || error._tag !== "HttpResponseError") return undefined
  const headers = error.response.headers
  const millis = header(headers, "retry-after-ms")
  if (millis !== undefined && /^\d+(\.\d+)?$/.test(millis)) return Number(millis)
  const value = header(headers, "retry-after")
  if (value === undefined) return undefined
  if (/^\d+(\.\d+)?$/.test(value)) return Number(value) * 1000
  const date = Date.parse(value)
  return Number.isNaN(date) ? undefined : Math.max(0, date - now)
}

/** Replaces every configured secret in text; `leaks` tells whether there is anything to replace. */
const makeScrubber = (secrets: ReadonlyArray<string>) => {
  // Longest first, so a secret that contains another one is replaced whole.
  const present = secrets.filter((secret) => secret.length > 0).sort((a, b) => b.length - a.length)
  const text = (value: string): string =>
    present.reduce((acc, secret) => acc.split(secret).join(redacted), value)
  const leaks = (value: string): boolean => present.some((secret) => value.includes(secret))
  const optionalText = (value: string | undefined): string | undefined => value === undefined ? undefined : text(value)
  const headers = (record: Readonly<Record<string, string>>): Record<string, string> =>
    Object.fromEntries(
      Object.entries(record).map(([key, value]) => [key, typeof value === "string" ? text(value) : value])
    )
  const request = (details: typeof AiError.HttpRequestDetails.Type): typeof AiError.HttpRequestDetails.Type => ({
    method: details.method,
    url: text(details.url),
    urlParams: details.urlParams.map(([key, value]): readonly [string, string] => [key, text(value)]),
    hash: Option.map(details.hash, text),
    headers: headers(details.headers)
  })
  const causeText = (cause: unknown): string =>
    cause instanceof Error ? `${cause.message}\n${cause.stack ?? ""}` : Inspectable.format(cause)
  // A cause that mentions a secret is replaced by its scrubbed text: it is logged with the error.
  const cause = (value: unknown): unknown => {
    if (value === undefined) return undefined
    const described = causeText(value)
    return leaks(described) ? text(described) : value
  }
  const errorLeaks = (error: AiError.AiError): boolean => {
    const texts: Array<string> = [error.description ?? "", causeText(error.cause)]
    if (error._tag === "HttpRequestError" || error._tag === "HttpResponseError") {
      const details = error.request
      texts.push(details.url, ...details.urlParams.map(([, value]) => value), ...Option.toArray(details.hash))
      texts.push(...Object.values(details.headers).filter((value) => typeof value === "string"))
    }
    if (error._tag === "HttpResponseError") {
      const responseHeaders = Object.values(error.response.headers).filter((value) => typeof value === "string")
      texts.push(error.body ?? "", ...responseHeaders)
    }
    return texts.some(leaks)
  }
  // Rebuilt without validation, as `@effect/ai` builds them: redacted headers are not strings at run time.
  const error = (value: AiError.AiError): AiError.AiError => {
    if (present.length === 0 || !errorLeaks(value)) return value
    const common = { module: value.module, method: value.method, description: optionalText(value.description) }
    switch (value._tag) {
      case "HttpRequestError":
        return new AiError.HttpRequestError({
          ...common,
          reason: value.reason,
          request: request(value.request),
          cause: cause(value.cause)
        }, true)
      case "HttpResponseError":
        return new AiError.HttpResponseError({
          ...common,
          reason: value.reason,
          request: request(value.request),
          response: { status: value.response.status, headers: headers(value.response.headers) },
          body: optionalText(value.body)
        }, true)
      case "MalformedInput":
        return new AiError.MalformedInput({ ...common, cause: cause(value.cause) }, true)
      case "MalformedOutput":
        return new AiError.MalformedOutput({ ...common, cause: cause(value.cause) }, true)
      case "UnknownError":
        return new AiError.UnknownError({ ...common, cause: cause(value.cause) }, true)
    }
  }
  return { text, error }
}

type Scrubber = ReturnType<typeof makeScrubber>

interface Settings extends ResilientOptions {
  readonly scrub: Scrubber
}

const settingsOf = (options: ResilientOptions): Settings => ({
  ...options,
  scrub: makeScrubber(options.secrets ?? [])
})

const describeFailure = (error: unknown, scrub: Scrubber): string => {
  if (!AiError.isAiError(error)) return "unknown failure"
  const status = error._tag === "HttpResponseError" ? `${error.response.status} ` : ""
  return `${status}${scrub.text(error.description ?? error._tag)}`
}

/**
 * The retry policy of one call, fed with its failures: jittered exponential back-off (capped), replaced by the
 * response's `Retry-After` when present (capped), at most `maxRetries` times, and only while `streamed` is false and
 * the failure is retryable. Each retry is logged with the provider, the status and the scrubbed description only.
 */
const retryPolicy = <E>(settings: Settings, streamed: Effect.Effect<boolean>): Schedule.Schedule<unknown, E> =>
  Schedule.exponential(backoffBase).pipe(
    Schedule.jittered,
    Schedule.modifyDelay((_, delay) => Duration.min(delay, backoffCap)),
    Schedule.intersect(Schedule.recurs(settings.maxRetries)),
    Schedule.map(([, retries]) => retries + 1),
    Schedule.intersect(Schedule.identity<E>()),
    Schedule.checkEffect((error) => Effect.map(streamed, (started) => !started && isRetryable(error))),
    Schedule.modifyDelayEffect(([retry, error], computed) =>
      Effect.gen(function*() {
        const now = yield* Clock.currentTimeMillis
        const asked = retryAfterMillis(error, now)
        const delay = asked === undefined ? computed : Duration.min(Duration.millis(asked), retryAfterCap)
        yield* Effect.logWarning(
          `${settings.provider}: ${describeFailure(error, settings.scrub)}; retry ${retry}/${settings.maxRetries} ` +
            `in ${Math.round(Duration.toMillis(delay))} ms`
        ).pipe(Effect.annotateLogs({ provider: settings.provider }))
        return delay
      })
    )
  )

/**
 * One attempt under the deadlines: its first part within `connectTimeoutMs`, each next one within `idleTimeoutMs`.
 * `streamed` is set before the first part goes downstream. The attempt's scope (the request) closes when it ends.
 */
const withDeadlines = <A, E, R>(
  stream: Stream.Stream<A, E, R>,
  settings: Settings,
  streamed: Ref.Ref<boolean>
): Stream.Stream<A, E | AiError.AiError, R> =>
  Stream.unwrapScoped(Effect.map(Stream.toPull(stream), (pull) => {
    const next: Effect.Effect<Chunk.Chunk<A>, Option.Option<E | AiError.AiError>, R> = Effect.flatMap(
      Ref.get(streamed),
      (started) =>
        pull.pipe(
          Effect.timeoutFail({
            duration: Duration.millis(started ? settings.idleTimeoutMs : settings.connectTimeoutMs),
            onTimeout: () =>
              Option.some(
                started
                  ? idleTimeoutError(settings.provider, settings.idleTimeoutMs)
                  : connectTimeoutError(settings.provider, settings.connectTimeoutMs)
              )
          }),
          Effect.tap((chunk) => started || Chunk.isEmpty(chunk) ? Effect.void : Ref.set(streamed, true))
        )
    )
    return Stream.repeatEffectChunkOption(next)
  }))

const scrubFailure = (scrub: Scrubber) => <E>(error: E): E | AiError.AiError =>
  AiError.isAiError(error) ? scrub.error(error) : error

/**
 * The policy around any stream: deadlines, retries while nothing was streamed (a retry re-runs the stream, that is
 * sends the request again), scrubbed failures. Nothing is forked: interrupting the consumer closes the attempt's scope.
 */
const guardStream = (settings: Settings) =>
<A, E, R>(stream: Stream.Stream<A, E, R>): Stream.Stream<A, E | AiError.AiError, R> =>
  Stream.unwrap(Effect.map(Ref.make(false), (streamed) =>
    withDeadlines(stream, settings, streamed).pipe(
      Stream.retry(retryPolicy<E | AiError.AiError>(settings, Ref.get(streamed))),
      Stream.mapError(scrubFailure(settings.scrub))
    )))

/**
 * The policy around a whole-response call: retries and scrubbed failures, no deadlines (its only part is the whole
 * answer, which may rightly take minutes; the provider's HTTP client bounds the connection).
 */
const guardEffect = (settings: Settings) =>
<A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A, E | AiError.AiError, R> =>
  effect.pipe(
    Effect.retry(retryPolicy<E>(settings, Effect.succeed(false))),
    Effect.mapError(scrubFailure(settings.scrub))
  )

/**
 * `LanguageModel.ExtractError<Options>` is a union with `AiError` in each of its branches (test/ResilientModel.test.ts
 * checks every branch with the compiler), so an `AiError` is always one. TypeScript cannot see it through the
 * deferred conditional type (its branches bind `infer` variables), so this overload states it, here only.
 */
function asExtractError<Options>(
  error: AiError.AiError | LanguageModel.ExtractError<Options>
): LanguageModel.ExtractError<Options>
function asExtractError<E>(error: E): E {
  return error
}

/**
 * `service` with the connection policy of its provider section. Streams: the first part of each attempt within
 * `connectTimeoutMs`, then each part within `idleTimeoutMs`; an attempt failing before its first part with 408, 429,
 * 5xx, a transport error or the connect deadline is retried up to `maxRetries` times after a jittered exponential
 * back-off (500 ms doubling, at most 10 s) or the response's `Retry-After` (at most 60 s); any failure after a
 * part is final, so no token is ever repeated. `generateText`/`generateObject` get the retries without deadlines.
 * Failures leave with `secrets` replaced by `[redacted]`.
 */
export const resilient = (service: LanguageModel.Service, options: ResilientOptions): LanguageModel.Service => {
  const settings = settingsOf(options)
  const stream = guardStream(settings)
  const effect = guardEffect(settings)
  return {
    generateText: (request) => effect(service.generateText(request)).pipe(Effect.mapError((e) => asExtractError(e))),
    generateObject: (request) =>
      effect(service.generateObject(request)).pipe(Effect.mapError((e) => asExtractError(e))),
    streamText: (request) => stream(service.streamText(request)).pipe(Stream.mapError((e) => asExtractError(e)))
  }
}

/**
 * The same policy around a provider's raw parts (`ProviderRegistry.RawStream`, decoded by `Agents/ModelTurn`): the
 * deadlines, the retries before the first part and the scrubbing of `streamText` above, for each call.
 */
export const resilientStream = <A>(
  raw: (options: LanguageModel.ProviderOptions) => Stream.Stream<A, AiError.AiError>,
  options: ResilientOptions
): (options: LanguageModel.ProviderOptions) => Stream.Stream<A, AiError.AiError> => {
  const stream = guardStream(settingsOf(options))
  return (request) => stream(raw(request))
}
