/**
 * Refusals that only the HTTP API gives (the WebSocket refuses the same things at its upgrade or with
 * close codes), and the JSON bodies of `/v1/runs`: a run's result, or the typed error and its message.
 */
import { Schema } from "effect"
import { AgentEvent } from "./AgentEvent.js"
import { Forbidden } from "./AuthError.js"
import { RunId } from "./Ids.js"
import { RunError } from "./RunError.js"
import { Usage } from "./Usage.js"

/** No Bearer token, or one the gateway does not accept (HTTP 401). */
export class BearerRejected extends Schema.TaggedError<BearerRejected>()("BearerRejected", {
  reason: Schema.String
}) {
  override get message() {
    return `unauthorized: ${this.reason}`
  }
}

/** A browser page on an origin outside `security.websocket.allowedOrigins` (HTTP 403). */
export class OriginRejected extends Schema.TaggedError<OriginRejected>()("OriginRejected", {
  origin: Schema.String
}) {
  override get message() {
    return `origin ${this.origin} is not in security.websocket.allowedOrigins`
  }
}

/** The request body is over `acp.codex.maxMessageSize` (HTTP 413). */
export class PayloadTooLarge extends Schema.TaggedError<PayloadTooLarge>()("PayloadTooLarge", {
  limitBytes: Schema.Int
}) {
  override get message() {
    return `the request body is larger than ${this.limitBytes} bytes (acp.codex.maxMessageSize)`
  }
}

/** Everything an HTTP API request can fail with. */
export const HttpFailure = Schema.Union(RunError, Forbidden, BearerRejected, OriginRejected, PayloadTooLarge)
export type HttpFailure = typeof HttpFailure.Type

/**
 * The body of an error answer; in an SSE stream, the data of the final `event: error`. A run that failed after it
 * started also carries its id and, in a non-streaming answer, the events it produced before failing.
 */
export class HttpErrorBody extends Schema.Class<HttpErrorBody>("openclaw/HttpErrorBody")({
  error: HttpFailure,
  message: Schema.String,
  runId: Schema.optional(RunId),
  events: Schema.optional(Schema.Array(AgentEvent))
}) {}

/** The answer of a non-streaming `POST /v1/runs` that completed: the reply, its usage, and every event in order. */
export class RunResult extends Schema.Class<RunResult>("openclaw/RunResult")({
  runId: RunId,
  text: Schema.String,
  usage: Usage,
  durationMs: Schema.Number,
  events: Schema.Array(AgentEvent)
}) {}
