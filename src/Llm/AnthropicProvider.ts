/**
 * Anthropic's Messages API (`POST {baseUrl}/v1/messages`, streamed) as `LanguageModel` services, one per model,
 * through `@effect/ai-anthropic`. Every failure is an `AiError`: HTTP statuses stay `HttpResponseError` (status and
 * response headers such as `retry-after` kept), an `error` event in the stream and a stream cut before
 * `message_stop` fail the stream too, and no error carries the API key. Retries and timeouts are not done here.
 */
import { AnthropicClient, AnthropicLanguageModel } from "@effect/ai-anthropic"
import { AiError, type LanguageModel } from "@effect/ai"
import type { HttpClient } from "@effect/platform"
import { Effect, Predicate, Redacted, Runtime, Stream } from "effect"

export interface AnthropicProviderConfig {
  readonly apiKey: Redacted.Redacted<string>
  /** Without the `/v1` suffix, e.g. `"https://api.anthropic.com"`. */
  readonly baseUrl: string
  /** `max_tokens` of every request. */
  readonly maxTokens: number
}

/** Request headers that carry credentials; their values never leave in an error. */
const credentialHeaders: ReadonlySet<string> = new Set(["x-api-key", "authorization"])

const withoutCredentials = (headers: Readonly<Record<string, string>>): Record<string, string> =>
  Object.fromEntries(
    Object.entries(headers).map(([name, value]) =>
      credentialHeaders.has(name.toLowerCase()) ? [name, "<redacted>"] : [name, value]
    )
  )

/**
 * The client's errors keep the request's headers as sent (the key included: `Inspectable.redact` only redacts inside
 * an Effect logger), a transport error keeps the platform's `RequestError`, which holds the request, and a body that
 * fails while being read (a cut `text/event-stream`) is reported with that whole failure, request headers included,
 * as its "Response Body" in the message. All of that is replaced here, so that printing, logging or serialising the
 * error cannot reveal the key.
 */
const scrub = (apiKey: Redacted.Redacted<string>) => {
  const hide = (text: string) => text.split(Redacted.value(apiKey)).join("<redacted>")
  return (error: AiError.AiError): AiError.AiError => {
    switch (error._tag) {
      case "HttpRequestError":
        return new AiError.HttpRequestError({
          module: error.module,
          method: error.method,
          reason: error.reason,
          request: { ...error.request, headers: withoutCredentials(error.request.headers) },
          ...(error.description === undefined ? {} : { description: hide(error.description) }),
          // The transport's own failure (e.g. undici's "connect ECONNREFUSED"), without the request around it.
          ...(Predicate.hasProperty(error.cause, "cause") ? { cause: error.cause.cause } : {})
        }, { disableValidation: true })
      case "HttpResponseError":
        return new AiError.HttpResponseError({
          module: error.module,
          method: error.method,
          reason: error.reason,
          request: { ...error.request, headers: withoutCredentials(error.request.headers) },
          response: error.response,
          // On "Decode" the "body" is the failure to read the body (the request included), not a body.
          ...(error.body === undefined || error.reason === "Decode" ? {} : { body: hide(error.body) }),
          ...(error.description !== undefined
            ? { description: hide(error.description) }
            : error.reason === "Decode"
            ? { description: "reading the streamed response body failed (e.g. the connection was cut)" }
            : {})
        }, { disableValidation: true })
      default:
        return error
    }
  }
}

const streamFailure = (description: string) =>
  new AiError.UnknownError({ module: "AnthropicProvider", method: "streamText", description })

/**
 * The Messages stream as the language model reads it, but failing on an `error` event (the library turns it into an
 * `error` part that a consumer can overlook) and on an end without `message_stop` (a body cut between two events).
 */
const strictStream = (
  scrubbed: (error: AiError.AiError) => AiError.AiError,
  events: Stream.Stream<AnthropicClient.MessageStreamEvent, AiError.AiError>
): Stream.Stream<AnthropicClient.MessageStreamEvent, AiError.AiError> => {
  let stopped = false
  return events.pipe(
    Stream.mapError(scrubbed),
    Stream.mapEffect((event): Effect.Effect<AnthropicClient.MessageStreamEvent, AiError.AiError> => {
      if (event.type === "error") {
        return Effect.fail(streamFailure(`${event.error.type}: ${event.error.message}`))
      }
      if (event.type === "message_stop") stopped = true
      return Effect.succeed(event)
    }),
    Stream.concat(Stream.suspend(() =>
      stopped ? Stream.empty : Stream.fail(streamFailure("the stream ended before message_stop"))
    ))
  )
}

/**
 * A `LanguageModel` per model name, over the ambient `HttpClient` (e.g. `NodeHttpClient.layerUndici`). The key is
 * sent as `x-api-key`, with `anthropic-version: 2023-06-01`.
 */
export const make = (
  config: AnthropicProviderConfig
): Effect.Effect<(model: string) => LanguageModel.Service, never, HttpClient.HttpClient> =>
  Effect.gen(function*() {
    // The client's scope only holds a FiberRef change (redacted header names, x-api-key is redacted by default).
    const client = yield* Effect.scoped(
      AnthropicClient.make({ apiKey: config.apiKey, apiUrl: config.baseUrl.replace(/\/+$/, "") })
    )
    const scrubbed = scrub(config.apiKey)
    const strictClient = AnthropicClient.AnthropicClient.of({
      ...client,
      createMessage: (options) => Effect.mapError(client.createMessage(options), scrubbed),
      createMessageStream: (options) => strictStream(scrubbed, client.createMessageStream(options))
    })
    const runtime = yield* Effect.runtime<never>()
    return (model) =>
      Runtime.runSync(runtime)(
        AnthropicLanguageModel.make({ model, config: { max_tokens: config.maxTokens } }).pipe(
          Effect.provideService(AnthropicClient.AnthropicClient, strictClient)
        )
      )
  })
