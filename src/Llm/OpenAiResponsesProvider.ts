/**
 * OpenAI's Responses API (`POST {baseUrl}/responses`, streamed) as `LanguageModel` services, one per model, through
 * `@effect/ai-openai`. Every failure is an `AiError`: HTTP statuses stay `HttpResponseError` (status and response
 * headers such as `retry-after` kept), an `error` event, a `response.failed` event and a stream cut before
 * `response.completed` fail the stream too, and no error carries the API key. Retries and timeouts are not done here.
 */
import { AiError, type LanguageModel } from "@effect/ai"
import { OpenAiClient, OpenAiLanguageModel } from "@effect/ai-openai"
import type { HttpClient } from "@effect/platform"
import { Effect, type Redacted, Runtime, Stream } from "effect"
import { scrubCredentials } from "./ProviderErrors.js"

export interface OpenAiResponsesProviderConfig {
  readonly apiKey: Redacted.Redacted<string>
  /** With the version path, e.g. `"https://api.openai.com/v1"`. */
  readonly baseUrl: string
}

const streamFailure = (description: string) =>
  new AiError.UnknownError({ module: "OpenAiResponsesProvider", method: "streamText", description })

/** `code: message`, or the message alone when there is no code. */
const describe = (code: string | null | undefined, message: string) => code ? `${code}: ${message}` : message

/**
 * The Responses stream as the language model reads it, but failing on an `error` event (the library turns it into an
 * `error` part that a consumer can overlook), on `response.failed` (which it reports as a normal finish) and on an
 * end without a terminal event (a body cut between two events).
 */
const strictStream = (
  scrubbed: (error: AiError.AiError) => AiError.AiError,
  events: Stream.Stream<OpenAiClient.ResponseStreamEvent, AiError.AiError>
): Stream.Stream<OpenAiClient.ResponseStreamEvent, AiError.AiError> => {
  let finished = false
  return events.pipe(
    Stream.mapError(scrubbed),
    Stream.mapEffect((event): Effect.Effect<OpenAiClient.ResponseStreamEvent, AiError.AiError> => {
      switch (event.type) {
        case "error":
          return Effect.fail(streamFailure(describe(event.code, event.message)))
        case "response.failed": {
          const error = event.response.error
          const description = error === null ? "the response failed" : describe(error.code, error.message)
          return Effect.fail(streamFailure(description))
        }
        case "response.completed":
        case "response.incomplete":
          finished = true
          return Effect.succeed(event)
        default:
          return Effect.succeed(event)
      }
    }),
    Stream.concat(Stream.suspend(() =>
      finished ? Stream.empty : Stream.fail(streamFailure("the stream ended before response.completed"))
    ))
  )
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
    const strictClient = OpenAiClient.OpenAiClient.of({
      ...client,
      createResponse: (options) => Effect.mapError(client.createResponse(options), scrubbed),
      createResponseStream: (options) => strictStream(scrubbed, client.createResponseStream(options))
    })
    const runtime = yield* Effect.runtime<never>()
    return (model) =>
      Runtime.runSync(runtime)(
        OpenAiLanguageModel.make({ model }).pipe(Effect.provideService(OpenAiClient.OpenAiClient, strictClient))
      )
  })
