/**
 * Errors of the @effect/ai provider clients without credentials. Their errors keep the request's headers as sent
 * (the key included: `Inspectable.redact` only redacts inside an Effect logger), a transport error keeps the
 * platform's `RequestError`, which holds the request, and a body that fails while being read (a cut
 * `text/event-stream`) is reported with that whole failure, request headers included, as its "Response Body". All
 * of that is replaced here, so that printing, logging or serialising the error cannot reveal the key. Their event
 * streams are made strict here too: error events and truncated bodies fail instead of passing as normal ends.
 */
import * as AiError from "@effect/ai/AiError"
import { Effect, Predicate, Redacted, Stream } from "effect"

/** Request headers that carry credentials; their values never leave in an error. */
const credentialHeaders: ReadonlySet<string> = new Set(["x-api-key", "authorization"])

const withoutCredentials = (headers: Readonly<Record<string, string>>): Record<string, string> =>
  Object.fromEntries(
    Object.entries(headers).map(([name, value]) =>
      credentialHeaders.has(name.toLowerCase()) ? [name, "<redacted>"] : [name, value]
    )
  )

/** The error as the client made it, minus every trace of `apiKey`. */
export const scrubCredentials = (apiKey: Redacted.Redacted<string>) => {
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

/** What one event of a provider's stream means: pass it on, it ends the answer, or it is a failure. */
export type EventVerdict =
  | { readonly _tag: "Pass" }
  | { readonly _tag: "Terminal" }
  | { readonly _tag: "Fail"; readonly description: string }

/**
 * A provider client's event stream as the language model reads it, but strict: errors scrubbed of the key, failing
 * on an event the library would turn into an overlookable `error` part (or a normal finish), and failing when the
 * body ends before a terminal event (a connection cut between two events).
 */
export const strictEventStream = <Event>(options: {
  readonly module: string
  readonly scrubbed: (error: AiError.AiError) => AiError.AiError
  readonly verdict: (event: Event) => EventVerdict
  /** Named in the failure of a stream that ends without it, e.g. "message_stop". */
  readonly terminalEvent: string
}) =>
(events: Stream.Stream<Event, AiError.AiError>): Stream.Stream<Event, AiError.AiError> => {
  const failure = (description: string) =>
    new AiError.UnknownError({ module: options.module, method: "streamText", description })
  let finished = false
  return events.pipe(
    Stream.mapError(options.scrubbed),
    Stream.mapEffect((event): Effect.Effect<Event, AiError.AiError> => {
      const verdict = options.verdict(event)
      if (verdict._tag === "Fail") return Effect.fail(failure(verdict.description))
      if (verdict._tag === "Terminal") finished = true
      return Effect.succeed(event)
    }),
    Stream.concat(Stream.suspend(() =>
      finished ? Stream.empty : Stream.fail(failure(`the stream ended before ${options.terminalEvent}`))
    ))
  )
}
