/**
 * HTTP mode of runs, for clients that cannot hold a WebSocket: `POST /v1/runs` with the `StartRun` body either
 * waits and answers the whole result as JSON, or (with `Accept: text/event-stream`) streams the same `AgentEvent`s
 * as Server-Sent Events with `id:` = seq; `DELETE /v1/runs/:runId` cancels. Same credentials, scopes, quotas and
 * typed errors as the RPC protocol. The request's scope holds the quota slot and the run: when the client goes
 * away, the run is cancelled and its slot released.
 */
import * as HttpRouter from "@effect/platform/HttpRouter"
import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import { Chunk, Effect, Schema, Stream } from "effect"
import * as RunEventBuffer from "../Agents/RunEventBuffer.js"
import { RunSupervisor } from "../Agents/RunSupervisor.js"
import { AgentEvent } from "../Domain/AgentEvent.js"
import { type HttpFailure, RunResult } from "../Domain/HttpWire.js"
import type { RunError } from "../Domain/RunError.js"
import { StartRun } from "../Domain/RunSpec.js"
import { Quota } from "../Quota/Quota.js"
import { errorBody, errorResponse } from "./HttpErrors.js"
import { HttpGuard } from "./HttpGuard.js"

const encodeResult = Schema.encodeSync(RunResult)
const utf8 = new TextEncoder()

/**
 * One SSE frame per event; `id` lets a client say where it was (`Last-Event-ID`) once runs are durable. The event's
 * JSON is its encoding (see `StartRunStream`), so it is not encoded again.
 */
const sseFrame = (event: AgentEvent): string => `id: ${event.seq}\ndata: ${JSON.stringify(event)}\n\n`

export const sseHeaders = {
  "cache-control": "no-cache",
  // Proxies such as nginx buffer responses unless told not to: tokens must go out as they come.
  "x-accel-buffering": "no"
} as const

const wantsEventStream = (request: HttpServerRequest.HttpServerRequest) =>
  (request.headers["accept"] ?? "").includes("text/event-stream")

/** The route's failures before a run exists, and the run's own, as answers. */
const answerFailure = <R>(effect: Effect.Effect<HttpServerResponse.HttpServerResponse, HttpFailure, R>) =>
  Effect.catchAll(effect, (error) => Effect.succeed(errorResponse(error)))

const startRun = Effect.gen(function*() {
  const request = yield* HttpServerRequest.HttpServerRequest
  const guard = yield* HttpGuard
  const quota = yield* Quota
  const supervisor = yield* RunSupervisor
  const principal = yield* guard.authorize(request, "runs:write")
  const spec = yield* guard.decodeBody(request, StartRun)
  // Held by the request's scope, which lasts until the answer is written (or the client leaves).
  yield* quota.admit(principal.name)
  const run = yield* supervisor.start(spec, { principal: principal.name })
  const runHeaders = { "x-openclaw-run-id": run.runId }

  if (wantsEventStream(request)) {
    const opened = yield* Effect.either(RunEventBuffer.opened(run.events))
    if (opened._tag === "Left") return errorResponse(opened.left, { runId: run.runId })
    // Events of one chunk go out as one write; the run's error, if any, ends the stream as `event: error`.
    const frames = opened.right.pipe(
      Stream.mapChunks((events) => Chunk.of(utf8.encode(Chunk.join(Chunk.map(events, sseFrame), "")))),
      Stream.catchAll((error: RunError) =>
        Stream.succeed(
          utf8.encode(`event: error\ndata: ${JSON.stringify(errorBody(error, { runId: run.runId }))}\n\n`)
        )
      )
    )
    return HttpServerResponse.stream(frames, {
      contentType: "text/event-stream",
      headers: { ...sseHeaders, ...runHeaders }
    })
  }

  const events: Array<AgentEvent> = []
  const ended = yield* Stream.runForEachChunk(
    RunEventBuffer.toStream(run.events),
    (chunk) => Effect.sync(() => void events.push(...chunk))
  ).pipe(Effect.either)
  if (ended._tag === "Left") return errorResponse(ended.left, { runId: run.runId, events })
  const completed = events.at(-1)
  if (completed?._tag !== "RunCompleted") {
    return yield* Effect.dieMessage(`run ${run.runId} ended without RunCompleted`)
  }
  return HttpServerResponse.unsafeJson(
    encodeResult(
      new RunResult({
        runId: run.runId,
        text: completed.text,
        usage: completed.usage,
        durationMs: completed.durationMs,
        events
      })
    ),
    { headers: runHeaders }
  )
})

const cancelRun = Effect.gen(function*() {
  const request = yield* HttpServerRequest.HttpServerRequest
  const guard = yield* HttpGuard
  const supervisor = yield* RunSupervisor
  const principal = yield* guard.authorize(request, "runs:write")
  const runId = (yield* HttpRouter.params)["runId"] ?? ""
  yield* supervisor.cancel(runId, { principal: principal.name })
  return HttpServerResponse.empty({ status: 204 })
})

export const routes = HttpRouter.empty.pipe(
  HttpRouter.post("/v1/runs", answerFailure(startRun)),
  HttpRouter.del("/v1/runs/:runId", answerFailure(cancelRun))
)
