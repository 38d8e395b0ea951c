/**
 * `GET /metrics`: the gateway's metrics in Prometheus text format when `telemetry.prometheus` is true, for a
 * scraper holding a gateway credential with `runs:read` (the same Bearer token as every other route).
 */
import * as HttpRouter from "@effect/platform/HttpRouter"
import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import { Effect, Option } from "effect"
import { PrometheusMetrics } from "../Telemetry/Telemetry.js"
import { errorResponse } from "./HttpErrors.js"
import { HttpGuard } from "./HttpGuard.js"

const metrics = Effect.gen(function*() {
  const prometheus = yield* PrometheusMetrics
  if (Option.isNone(prometheus)) {
    return HttpServerResponse.unsafeJson(
      { error: "Not Found", message: "metrics are not served: set telemetry.prometheus to true" },
      { status: 404 }
    )
  }
  const request = yield* HttpServerRequest.HttpServerRequest
  const guard = yield* HttpGuard
  yield* guard.authorize(request, "runs:read")
  return HttpServerResponse.text(yield* prometheus.value.scrape, { contentType: "text/plain; version=0.0.4" })
}).pipe(Effect.catchAll((error) => Effect.succeed(errorResponse(error))))

export const routes = HttpRouter.empty.pipe(HttpRouter.get("/metrics", metrics))
