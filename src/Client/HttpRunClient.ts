/**
 * The HTTP-mode client of runs, for `openclaw run --transport http` and for programs that cannot hold a
 * WebSocket: `POST /v1/runs` with `Accept: text/event-stream`, each SSE frame decoded as the same `AgentEvent`
 * the WebSocket carries and the final `event: error` as the same typed error; refusals told apart as the
 * WebSocket client tells them (`GatewayUnreachable`, `TokenRejected`). The Bearer token goes on every request.
 */
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import type * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import * as Sse from "@effect/experimental/Sse"
import { Chunk, Context, Effect, Either, Layer, Option, Redacted, Schema, Stream } from "effect"
import { AgentEvent } from "../Domain/AgentEvent.js"
import type { Forbidden } from "../Domain/AuthError.js"
import { HttpErrorBody, type HttpFailure } from "../Domain/HttpWire.js"
import type { RunId } from "../Domain/Ids.js"
import { InvalidRequest, type RunError, type RunNotFound } from "../Domain/RunError.js"
import { StartRun } from "../Domain/RunSpec.js"
import {
  GatewayClientConfigError,
  type GatewayClientError,
  GatewayConnectionError,
  GatewayUnreachable,
  gatewayUrlText,
  resolveToken,
  type StartRunSpec,
  TokenRejected
} from "./GatewayClient.js"

export interface HttpRunClientOptions {
  /** `http(s)://` or `ws(s)://` URL of the gateway (a WebSocket URL names the same listener); default as GatewayClient. */
  readonly url?: string | undefined
  /** Bearer token; default `$OPENCLAW_GATEWAY_TOKEN`, else the token file. */
  readonly token?: string | Redacted.Redacted<string> | undefined
  readonly tokenFile?: string | undefined
  /** For `https://`: a PEM CA certificate to trust besides the system's. */
  readonly ca?: string | Buffer | undefined
}

export interface HttpRunClientService {
  /** The gateway's base URL, `http(s)://host:port`. */
  readonly url: string
  /** Starts a run and streams its events; interrupting the stream closes the request, which cancels the run. */
  readonly startRun: (spec: StartRunSpec) => Stream.Stream<AgentEvent, RunError | Forbidden | GatewayClientError>
  readonly cancelRun: (runId: RunId) => Effect.Effect<void, RunNotFound | Forbidden | GatewayClientError>
}

export class HttpRunClient extends Context.Tag("openclaw/HttpRunClient")<HttpRunClient, HttpRunClientService>() {
  static readonly layer = (
    options: HttpRunClientOptions = {}
  ): Layer.Layer<HttpRunClient, GatewayClientConfigError> => Layer.scoped(HttpRunClient, make(options))
}

/** The base URL: `ws:` and `wss:` name the same listener as `http:` and `https:`. */
const resolveBaseUrl = Effect.fnUntraced(function*(explicit: string | undefined) {
  const text = yield* gatewayUrlText(explicit)
  const parsed = URL.canParse(text) ? new URL(text) : undefined
  const scheme = { "ws:": "http:", "http:": "http:", "wss:": "https:", "https:": "https:" }[parsed?.protocol ?? ""]
  if (parsed === undefined || scheme === undefined) {
    return yield* new GatewayClientConfigError({
      reason: `invalid gateway URL ${JSON.stringify(text)}: expected http(s)://HOST:PORT or ws(s)://HOST:PORT`
    })
  }
  return `${scheme}//${parsed.host}`
})

const decodeEvent = Schema.decodeEither(Schema.parseJson(AgentEvent))
const decodeErrorBody = Schema.decodeUnknownEither(Schema.parseJson(HttpErrorBody))
const encodeSpec = Schema.encodeSync(StartRun)

export const make = Effect.fnUntraced(function*(options: HttpRunClientOptions = {}) {
  const url = yield* resolveBaseUrl(options.url)
  const { source, token } = yield* resolveToken(options)
  const client = yield* HttpClient.HttpClient.pipe(
    Effect.provide(NodeHttpClient.layerWithoutAgent.pipe(
      Layer.provide(NodeHttpClient.makeAgentLayer(options.ca === undefined ? {} : { ca: options.ca }))
    ))
  )
  const authorized = (request: HttpClientRequest.HttpClientRequest) =>
    Option.match(token, {
      onNone: () => request,
      onSome: (value) => HttpClientRequest.bearerToken(request, Redacted.value(value))
    })

  const unreachable = (reason: string) => new GatewayUnreachable({ url, reason })
  /** A failure the gateway answered with (a refusal, or a streamed run's `event: error`) as this client's error. */
  const clientErrorOf = (error: HttpFailure, status: number): RunError | Forbidden | GatewayClientError => {
    switch (error._tag) {
      case "BearerRejected":
        return new TokenRejected({ url, status, reason: error.reason, tokenSource: source })
      case "OriginRejected":
        return new GatewayConnectionError({ url, reason: error.message })
      case "PayloadTooLarge":
        return new InvalidRequest({ reason: error.message })
      default:
        return error
    }
  }
  /** An answer other than 2xx, as the typed error its body carries. */
  const refusal = (response: HttpClientResponse.HttpClientResponse) =>
    Effect.flatMap(Effect.orElseSucceed(response.text, () => ""), (text) => {
      const body = decodeErrorBody(text)
      if (Either.isRight(body)) return Effect.fail(clientErrorOf(body.right.error, response.status))
      return Effect.fail(
        response.status === 503
          ? unreachable("the gateway is shutting down")
          : new GatewayConnectionError({ url, reason: `HTTP ${response.status}: ${text.slice(0, 200)}` })
      )
    })

  const send = (request: HttpClientRequest.HttpClientRequest) =>
    client.execute(authorized(request)).pipe(
      Effect.mapError((error) =>
        error._tag === "RequestError"
          ? unreachable(error.cause instanceof Error ? error.cause.message : error.message)
          : new GatewayConnectionError({ url, reason: error.message })
      ),
      Effect.flatMap((response) =>
        response.status >= 200 && response.status < 300 ? Effect.succeed(response) : refusal(response)
      )
    )

  /** SSE frames of the answer as events; `event: error` fails the stream with the run's typed error. */
  const eventsOf = (response: HttpClientResponse.HttpClientResponse) =>
    Stream.suspend(() => {
      const frames: Array<Sse.Event> = []
      const parser = Sse.makeParser((frame) => {
        if (frame._tag === "Event") frames.push(frame)
      })
      let completed = false
      return response.stream.pipe(
        Stream.decodeText(),
        Stream.mapChunks((texts) => {
          Chunk.forEach(texts, (text) => parser.feed(text))
          return Chunk.fromIterable(frames.splice(0))
        }),
        Stream.mapEffect((frame): Effect.Effect<AgentEvent, RunError | Forbidden | GatewayClientError> => {
          if (frame.event === "error") {
            const body = decodeErrorBody(frame.data)
            return Effect.fail(
              Either.isLeft(body)
                ? new GatewayConnectionError({ url, reason: "unreadable error frame" })
                : clientErrorOf(body.right.error, response.status)
            )
          }
          const event = decodeEvent(frame.data)
          if (Either.isLeft(event)) {
            return Effect.fail(new GatewayConnectionError({ url, reason: "unreadable event frame" }))
          }
          if (event.right._tag === "RunCompleted") completed = true
          return Effect.succeed(event.right)
        }),
        Stream.catchTag("ResponseError", (error) =>
          Stream.fail(new GatewayConnectionError({ url, reason: `the stream broke: ${error.message}` }))),
        Stream.concat(Stream.suspend(() =>
          completed ? Stream.empty : Stream.fail(new GatewayConnectionError({ url, reason: "the stream ended early" }))
        ))
      )
    })

  const startRun = (spec: StartRunSpec) =>
    Stream.unwrapScoped(
      Effect.try({
        try: () => encodeSpec(new StartRun(spec)),
        catch: (error) => new InvalidRequest({ reason: error instanceof Error ? error.message : String(error) })
      }).pipe(
        Effect.flatMap((body) =>
          send(
            HttpClientRequest.post(`${url}/v1/runs`).pipe(
              HttpClientRequest.setHeader("accept", "text/event-stream"),
              HttpClientRequest.bodyUnsafeJson(body)
            )
          )
        ),
        Effect.map(eventsOf)
      )
    )

  const cancelRun = (runId: RunId) =>
    Effect.scoped(send(HttpClientRequest.del(`${url}/v1/runs/${encodeURIComponent(runId)}`))).pipe(
      Effect.asVoid,
      Effect.mapError((error): RunNotFound | Forbidden | GatewayClientError => {
        switch (error._tag) {
          case "RunNotFound":
          case "Forbidden":
          case "GatewayUnreachable":
          case "TokenRejected":
          case "GatewayConnectionError":
            return error
          default:
            return new GatewayConnectionError({ url, reason: error.message })
        }
      })
    )

  return HttpRunClient.of({ url, startRun, cancelRun })
})
