/**
 * Handshake authentication: decides at start which Bearer token the gateway accepts (configured,
 * or generated and written to the token file on loopback, or an external issuer's JWT) and checks
 * each upgrade request.
 */
import { Effect, Redacted, Schema } from "effect"
import type * as http from "node:http"
import * as net from "node:net"
import { GatewayConfig } from "../Config/GatewayConfig.js"
import { AllScopes, Principal } from "../Domain/Principal.js"
import { generateToken, presentedToken, tokenMatches } from "./BearerToken.js"
import * as ExternalIssuers from "./ExternalIssuers.js"
import { defaultTokenFile, writeTokenFile } from "./TokenFile.js"

/** The gateway refuses to start with an unsafe or unusable configuration. */
export class GatewayStartupError extends Schema.TaggedError<GatewayStartupError>()("GatewayStartupError", {
  reason: Schema.String
}) {
  override get message() {
    return this.reason
  }
}

/** Who is calling: the credential presented at the upgrade, with its scopes (see `Domain/Principal`). */
export type { Principal } from "../Domain/Principal.js"

/** A Bearer token the gateway accepts and the principal it stands for. */
export interface Credential {
  readonly principal: Principal
  readonly token: Redacted.Redacted<string>
}

export type HandshakeResult =
  | { readonly _tag: "Accepted"; readonly principal: Principal }
  | { readonly _tag: "Rejected"; readonly reason: string }

const accepted = (principal: Principal): HandshakeResult => ({ _tag: "Accepted", principal })
const rejected = (reason: string): HandshakeResult => ({ _tag: "Rejected", reason })

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
    const issuers = ExternalIssuers.make(
      settings.enabled ? config.security.jwt.issuers : [],
      config.security.jwt.clockSkewSeconds
    )
    const credentials: Array<Credential> = []
    const defaultPrincipal = new Principal({ name: "default", scopes: AllScopes })
    if (settings.enabled) {
      for (const named of config.gateway.auth.tokens) {
        credentials.push({ principal: new Principal({ name: named.name, scopes: named.scopes }), token: named.token })
      }
      if (config.gateway.auth.token !== undefined) {
        credentials.push({ principal: defaultPrincipal, token: config.gateway.auth.token })
      } else if (credentials.length > 0 || issuers.configured) {
        // Named tokens or external issuers only: nothing to generate.
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
        credentials.push({ principal: defaultPrincipal, token: Redacted.make(generated) })
      }
    }

    const anonymous = new Principal({ name: "anonymous", scopes: AllScopes })
    const authenticates = credentials.length > 0 || issuers.configured

    /**
     * Checks an upgrade request. Compares the presented token with every gateway credential first (constant
     * time each, no early exit), so the time taken says nothing about which one matched or how close a guess
     * came; only a token matching none of them and naming a configured issuer (`iss`) is verified as that
     * issuer's JWT, which may fetch its key set (hence an Effect). Never fails: a refusal is a `Rejected`.
     */
    const checkHandshake = Effect.fn("GatewayAuth.checkHandshake")(function*(headers: http.IncomingHttpHeaders) {
      if (!authenticates) return accepted(anonymous)
      const presented = presentedToken(headers)
      if (presented === undefined) return rejected("missing bearer token")
      let matched: Principal | undefined
      for (const credential of credentials) {
        if (tokenMatches(presented, credential.token) && matched === undefined) matched = credential.principal
      }
      if (matched !== undefined) return accepted(matched)
      const issuer = issuers.issuerOf(presented)
      if (issuer === undefined) return rejected("invalid bearer token")
      return yield* issuers.verify(issuer, presented).pipe(
        Effect.map(accepted),
        Effect.catchTag("IssuerTokenRejected", (error) =>
          Effect.as(Effect.logInfo(`upgrade refused: ${error.message}`), rejected(error.message)))
      )
    })

    return { checkHandshake, tokenFile, authenticates } as const
  })
}) {}
