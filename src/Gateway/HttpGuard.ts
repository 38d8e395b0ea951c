/**
 * What every HTTP API request passes before it reaches a run: the Origin allow-list (a page on another site must
 * not drive the loopback gateway), the Bearer credential on the request itself (the same tokens and issuers as the
 * WebSocket upgrade; scopes only from the credential), the scope the route needs, and a body read within
 * `acp.codex.maxMessageSize` and decoded by a Schema.
 */
import type * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as NodeHttpServerRequest from "@effect/platform-node/NodeHttpServerRequest"
import { Effect, Either, ParseResult, Schema } from "effect"
import type * as http from "node:http"
import { GatewayAuth } from "../Auth/GatewayAuth.js"
import { GatewayConfig } from "../Config/GatewayConfig.js"
import { Forbidden } from "../Domain/AuthError.js"
import { BearerRejected, OriginRejected, PayloadTooLarge } from "../Domain/HttpWire.js"
import { hasScope, type Principal, type Scope } from "../Domain/Principal.js"
import { InvalidRequest } from "../Domain/RunError.js"
import { decodeUntrusted } from "../Domain/UntrustedDecode.js"

/**
 * The body as text, failing past `limit` bytes. Past the limit the rest is read and dropped rather than the socket
 * destroyed (what the platform's reader does): the client, still sending a chunked body, then gets the 413.
 */
const readBody = (incoming: http.IncomingMessage, limit: number) =>
  Effect.async<string, PayloadTooLarge | InvalidRequest>((resume) => {
    const parts: Array<Buffer> = []
    let size = 0
    let settled = false
    const settle = (result: Effect.Effect<string, PayloadTooLarge | InvalidRequest>) => {
      if (settled) return
      settled = true
      parts.length = 0
      resume(result)
    }
    const onData = (part: Buffer) => {
      if (settled) return
      size += part.length
      if (size > limit) settle(Effect.fail(new PayloadTooLarge({ limitBytes: limit })))
      else parts.push(part)
    }
    const onEnd = () => settle(Effect.succeed(Buffer.concat(parts).toString("utf8")))
    const onError = (error: Error) =>
      settle(Effect.fail(new InvalidRequest({ reason: `cannot read the request body: ${error.message}` })))
    incoming.on("data", onData)
    incoming.once("end", onEnd)
    incoming.once("error", onError)
    return Effect.sync(() => {
      incoming.off("data", onData)
      incoming.off("end", onEnd)
      incoming.off("error", onError)
    })
  })

export class HttpGuard extends Effect.Service<HttpGuard>()("openclaw/HttpGuard", {
  effect: Effect.gen(function*() {
    const { config } = yield* GatewayConfig
    const auth = yield* GatewayAuth
    const allowedOrigins: ReadonlySet<string> = new Set(config.security.websocket.allowedOrigins)
    const maxBodyBytes = config.acp.codex.maxMessageSize

    /** The caller, if its origin, credential and scopes allow `scope`. */
    const authorize = Effect.fnUntraced(function*(request: HttpServerRequest.HttpServerRequest, scope: Scope) {
      const origin = request.headers["origin"]
      if (origin !== undefined && !allowedOrigins.has(origin)) return yield* new OriginRejected({ origin })
      const verdict = yield* auth.checkHandshake(NodeHttpServerRequest.toIncomingMessage(request).headers)
      if (verdict._tag === "Rejected") return yield* new BearerRejected({ reason: verdict.reason })
      const principal: Principal = verdict.principal
      if (!hasScope(principal, scope)) return yield* new Forbidden({ principal: principal.name, scope })
      return principal
    })

    /**
     * The body as JSON decoded by `schema`: 413 past the limit, else 400 for what is not JSON or not the schema.
     * Unknown keys are refused unless `onExcessProperty: "ignore"` (an API that must tolerate other clients' fields).
     */
    const decodeBody = <A, I>(
      request: HttpServerRequest.HttpServerRequest,
      schema: Schema.Schema<A, I>,
      options: { readonly onExcessProperty?: "error" | "ignore" } = {}
    ) =>
      Effect.gen(function*() {
        const declared = Number(request.headers["content-length"] ?? "0")
        if (declared > maxBodyBytes) return yield* new PayloadTooLarge({ limitBytes: maxBodyBytes })
        const text = yield* readBody(NodeHttpServerRequest.toIncomingMessage(request), maxBodyBytes)
        const json = yield* Effect.try({
          try: (): unknown => JSON.parse(text),
          catch: (error) =>
            new InvalidRequest({ reason: `the body is not JSON: ${error instanceof Error ? error.message : ""}` })
        })
        const decoded = decodeUntrusted(schema, {
          onExcessProperty: options.onExcessProperty ?? "error",
          errors: "all"
        })(json)
        if (decoded === undefined) return yield* new InvalidRequest({ reason: "body: a value the schema cannot read" })
        if (Either.isRight(decoded)) return decoded.right
        return yield* new InvalidRequest({
          reason: ParseResult.ArrayFormatter.formatErrorSync(decoded.left)
            .map((issue) => `${issue.path.length === 0 ? "body" : issue.path.join(".")}: ${issue.message}`)
            .join("; ")
        })
      })

    return { authorize, decodeBody, maxBodyBytes } as const
  }),
  dependencies: [GatewayAuth.Default]
}) {}
