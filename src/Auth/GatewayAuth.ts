/**
 * Handshake authentication: decides at start which Bearer token the gateway accepts (configured,
 * or generated and written to the token file on loopback) and checks each upgrade request.
 */
import { Effect, Option, Redacted, Schema } from "effect"
import type * as http from "node:http"
import * as net from "node:net"
import { GatewayConfig } from "../Config/GatewayConfig.js"
import { generateToken, presentedToken, tokenMatches } from "./BearerToken.js"
import { defaultTokenFile, writeTokenFile } from "./TokenFile.js"

/** The gateway refuses to start with an unsafe or unusable configuration. */
export class GatewayStartupError extends Schema.TaggedError<GatewayStartupError>()("GatewayStartupError", {
  reason: Schema.String
}) {
  override get message() {
    return this.reason
  }
}

/** Who is calling. One principal per configured token; named tokens and scopes come with message auth. */
export interface Principal {
  readonly name: string
}

export type HandshakeResult =
  | { readonly _tag: "Accepted"; readonly principal: Principal }
  | { readonly _tag: "Rejected"; readonly reason: string }

export const isLoopbackAddress = (host: string): boolean => {
  if (host === "localhost") return true
  if (net.isIPv4(host)) return host.startsWith("127.")
  return host === "::1" || host === "::ffff:127.0.0.1"
}

export class GatewayAuth extends Effect.Service<GatewayAuth>()("openclaw/GatewayAuth", {
  scoped: Effect.gen(function*() {
    const { config } = yield* GatewayConfig
    const settings = config.security.websocket
    const loopback = isLoopbackAddress(config.gateway.bind)
    const tokenFile = config.gateway.auth.tokenFile ?? defaultTokenFile()

    if (!settings.enabled && !loopback) {
      return yield* new GatewayStartupError({
        reason: `security.websocket.enabled is false but gateway.bind is ${config.gateway.bind}: ` +
          "an unauthenticated gateway may only listen on loopback"
      })
    }
    let token: Option.Option<Redacted.Redacted<string>> = Option.none()
    if (settings.enabled) {
      if (config.gateway.auth.token !== undefined) {
        token = Option.some(config.gateway.auth.token)
      } else if (!loopback) {
        return yield* new GatewayStartupError({
          reason: `gateway.bind is ${config.gateway.bind} (not loopback) and no gateway.auth.token is configured: ` +
            "set one (e.g. {\"env\": \"OPENCLAW_GATEWAY_TOKEN\"}) or bind to 127.0.0.1"
        })
      } else {
        const generated = generateToken()
        yield* writeTokenFile(tokenFile, generated).pipe(
          Effect.mapError((error) => new GatewayStartupError({ reason: error.message }))
        )
        yield* Effect.logInfo(`generated a gateway token and wrote it to ${tokenFile} (mode 0600)`)
        token = Option.some(Redacted.make(generated))
      }
    }

    const principal: Principal = { name: "gateway-token" }
    const anonymous: Principal = { name: "anonymous" }

    /** Checks an upgrade request; pure and synchronous so the listener can answer 401 before upgrading. */
    const checkHandshake = (headers: http.IncomingHttpHeaders): HandshakeResult => {
      if (Option.isNone(token)) return { _tag: "Accepted", principal: anonymous }
      const presented = presentedToken(headers)
      if (presented === undefined) return { _tag: "Rejected", reason: "missing bearer token" }
      return tokenMatches(presented, token.value)
        ? { _tag: "Accepted", principal }
        : { _tag: "Rejected", reason: "invalid bearer token" }
    }

    return { checkHandshake, tokenFile, authenticates: Option.isSome(token) } as const
  })
}) {}
