/**
 * OpenAI's Responses API (`POST {baseUrl}/responses`, streamed) as `LanguageModel` services, one per model, through
 * `@effect/ai-openai`. Every failure is an `AiError`: HTTP statuses stay `HttpResponseError` (status and response
 * headers such as `retry-after` kept), an `error` event, a `response.failed` event and a stream cut before
 * `response.completed` fail the stream too, and no error carries the API key. Retries and timeouts are not done here.
 */
import type * as LanguageModel from "@effect/ai/LanguageModel"
import { OpenAiClient, OpenAiLanguageModel } from "@effect/ai-openai"
import type * as HttpClient from "@effect/platform/HttpClient"
import { Effect, type Redacted, Runtime } from "effect"
import { type EventVerdict, scrubCredentials, strictEventStream } from "./ProviderErrors.js"

export interface OpenAiResponsesProviderConfig {
  readonly apiKey: Redacted.Redacted<string>
  /** With the version path, e.g. `"https://api.openai.com/v1"`. */
  readonly baseUrl: string
}

/** `code: message`, or the message alone when there is no code. */
const describe = (code: string | null | undefined, message: string) => code ? `${code}: ${message}` : message

/**
 * An `error` event and `response.failed` fail the stream (the library would make them an `error` part and a normal
 * finish); `response.completed` and `response.incomplete` end it.
 */
const verdict = (event: OpenAiClient.ResponseStreamEvent): EventVerdict => {
  switch (event.type) {
    case "error":
      return { _tag: "Fail", description: describe(event.code, event.message) }
    case "response.failed": {
      const error = event.response.error
      return { _tag: "Fail", description: error === null ? "the response failed" : describe(error.code, error.message) }
    }
    case "response.completed":
    case "response.incomplete":
      return { _tag: "Terminal" }
    default:
      return { _tag: "Pass" }
  }
}

/**
 * A `LanguageModel` per model name, over the ambient `HttpClient` (e.g. `NodeHttpClient.layerUndici`). The key is
 * sent as `Authorization: Bearer`.
 */
export const make = (
  config: OpenAiResponsesProviderConfig
): Effect.Effect<(model: string) => LanguageModel.Service, never, HttpClient.HttpClient> =>
  Effect.gen(function*() {
    // The client's scope only holds a FiberRef change (redacted header names; authorization is redacted by default).
    const client = yield* Effect.scoped(
      OpenAiClient.make({ apiKey: config.apiKey, apiUrl: config.baseUrl.replace(/\/+$/, "") })
    )
    const scrubbed = scrubCredentials(config.apiKey)
    const strict = strictEventStream({
      module: "OpenAiResponsesProvider",
      scrubbed,
      verdict,
      terminalEvent: "response.completed"
    })
    const strictClient = OpenAiClient.OpenAiClient.of({
      ...client,
      createResponse: (options) => Effect.mapError(client.createResponse(options), scrubbed),
      createResponseStream: (options) => strict(client.createResponseStream(options))
    })
    const runtime = yield* Effect.runtime<never>()
    return (model) =>
      Runtime.runSync(runtime)(
        OpenAiLanguageModel.make({ model }).pipe(Effect.provideService(OpenAiClient.OpenAiClient, strictClient))
      )
  })
