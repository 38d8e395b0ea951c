/**
 * Typed failures as HTTP answers: one status per error (the mapping is the HTTP API's contract, tested per
 * error), `Retry-After` for the busy answers, `WWW-Authenticate` for a refused credential, and the error encoded
 * by its Schema in the body so that clients get the same typed error as over the WebSocket.
 */
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import { Schema } from "effect"
import type { AgentEvent } from "../Domain/AgentEvent.js"
import { type HttpFailure, HttpErrorBody } from "../Domain/HttpWire.js"
import type { RunId } from "../Domain/Ids.js"

export const statusOf = (error: HttpFailure): number => {
  switch (error._tag) {
    case "InvalidRequest":
      return 400
    case "BearerRejected":
      return 401
    case "Forbidden":
    case "OriginRejected":
    case "AgentNotAllowed":
      return 403
    case "RunNotFound":
      return 404
    case "PayloadTooLarge":
      return 413
    case "QueueFull":
    case "QuotaExceeded":
      return 429
    case "RunCancelled":
      // A client's cancellation is its own doing (499 as nginx answers it); shutdown is the gateway's.
      return error.reason === "client" ? 499 : 503
    case "GatewayShuttingDown":
      return 503
    case "ProviderFailed":
      return 502
    case "RunTimedOut":
      return 504
    case "AgentFailed":
    case "ThreadOutOfMemory":
    case "CpuQuotaExceeded":
    case "WorkerCrashed":
      return 500
  }
}

/** Seconds for `Retry-After`, rounded up so that a client waiting that long is not refused again for being early. */
export const retryAfterSeconds = (error: HttpFailure): number | undefined =>
  error._tag === "QueueFull" || error._tag === "QuotaExceeded"
    ? Math.max(1, Math.ceil(error.retryAfterMs / 1000))
    : undefined

export const headersOf = (error: HttpFailure): Record<string, string> => {
  const retryAfter = retryAfterSeconds(error)
  return {
    ...(retryAfter === undefined ? {} : { "retry-after": String(retryAfter) }),
    ...(error._tag === "BearerRejected" ? { "www-authenticate": "Bearer realm=\"openclaw\"" } : {})
  }
}

export const encodeErrorBody = Schema.encodeSync(HttpErrorBody)

export const errorBody = (
  error: HttpFailure,
  run: { readonly runId?: RunId; readonly events?: ReadonlyArray<AgentEvent> } = {}
) => encodeErrorBody(new HttpErrorBody({ error, message: error.message, ...run }))

export const errorResponse = (
  error: HttpFailure,
  run?: { readonly runId?: RunId; readonly events?: ReadonlyArray<AgentEvent> }
): HttpServerResponse.HttpServerResponse =>
  HttpServerResponse.unsafeJson(errorBody(error, run), { status: statusOf(error), headers: headersOf(error) })
