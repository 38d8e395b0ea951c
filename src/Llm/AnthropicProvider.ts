/**
 * Anthropic's Messages API (`POST {baseUrl}/v1/messages`, streamed) as `LanguageModel` services, one per model,
 * through `@effect/ai-anthropic`. Every failure is an `AiError`: HTTP statuses stay `HttpResponseError` (status and
 * response headers such as `retry-after` kept), an `error` event in the stream and a stream cut before
 * `message_stop` fail the stream too, and no error carries the API key. Retries and timeouts are not done here.
 */
import { AnthropicClient, AnthropicLanguageModel } from "@effect/ai-anthropic"
import type * as LanguageModel from "@effect/ai/LanguageModel"
import type * as HttpClient from "@effect/platform/HttpClient"
import { Effect, type Redacted, Runtime } from "effect"
import { type EventVerdict, scrubCredentials, strictEventStream } from "./ProviderErrors.js"

export interface AnthropicProviderConfig {
  readonly apiKey: Redacted.Redacted<string>
  /** Without the `/v1` suffix, e.g. `"https://api.anthropic.com"`. */
  readonly baseUrl: string
  /** `max_tokens` of every request. */
  readonly maxTokens: number
}

const pass: EventVerdict = { _tag: "Pass" }

/** An `error` event fails the stream (the library would make it an `error` part); `message_stop` ends it. */
const verdict = (event: AnthropicClient.MessageStreamEvent): EventVerdict =>
  event.type === "error"
    ? { _tag: "Fail", description: `${event.error.type}: ${event.error.message}` }
    : event.type === "message_stop"
    ? { _tag: "Terminal" }
    : pass

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
    const strict = strictEventStream({ module: "AnthropicProvider", scrubbed, verdict, terminalEvent: "message_stop" })
    const strictClient = AnthropicClient.AnthropicClient.of({
      ...client,
      createMessage: (options) => Effect.mapError(client.createMessage(options), scrubbed),
      createMessageStream: (options) => strict(client.createMessageStream(options))
    })
    const runtime = yield* Effect.runtime<never>()
    return (model) =>
      Runtime.runSync(runtime)(
        AnthropicLanguageModel.make({ model, config: { max_tokens: config.maxTokens } }).pipe(
          Effect.provideService(AnthropicClient.AnthropicClient, strictClient)
        )
      )
  })
