/**
 * Anthropic's Messages API (`POST {baseUrl}/v1/messages`, streamed) as `LanguageModel` services, one per model,
 * through `@effect/ai-anthropic`. Every failure is an `AiError`: HTTP statuses stay `HttpResponseError` (status and
 * response headers such as `retry-after` kept), an `error` event in the stream and a stream cut before
 * `message_stop` fail the stream too, and no error carries the API key. Retries and timeouts are not done here.
 */
import { AnthropicClient, AnthropicLanguageModel } from "@effect/ai-anthropic"
import { AiError, type LanguageModel } from "@effect/ai"
import type { HttpClient } from "@effect/platform"
import { Effect, type Redacted, Runtime, Stream } from "effect"
import { scrubCredentials } from "./ProviderErrors.js"

export interface AnthropicProviderConfig {
  readonly apiKey: Redacted.Redacted<string>
  /** Without the `/v1` suffix, e.g. `"https://api.anthropic.com"`. */
  readonly baseUrl: string
  /** `max_tokens` of every request. */
  readonly maxTokens: number
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
    const scrubbed = scrubCredentials(config.apiKey)
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
