/**
 * Session JWTs (HS256, `jose`) issued by `Connect`: bound to one connection (`sid`) and one
 * principal (`sub`), short-lived. The key comes from `security.jwt.secret` or is generated per start,
 * so a restart invalidates every session.
 */
import { Clock, Effect, Redacted } from "effect"
import { SignJWT } from "jose"
import * as crypto from "node:crypto"
import { GatewayConfig } from "../Config/GatewayConfig.js"

export interface IssuedSession {
  readonly token: string
  readonly expiresAt: number
}

export class SessionTokens extends Effect.Service<SessionTokens>()("openclaw/SessionTokens", {
  effect: Effect.gen(function*() {
    const { config } = yield* GatewayConfig
    const key = config.security.jwt.secret === undefined
      ? new Uint8Array(crypto.randomBytes(32))
      : new TextEncoder().encode(Redacted.value(config.security.jwt.secret))
    const ttlSeconds = config.security.jwt.ttlSeconds

    const issue = Effect.fn("SessionTokens.issue")(function*(claims: { readonly sid: string; readonly sub: string }) {
      const now = Math.floor((yield* Clock.currentTimeMillis) / 1000)
      const expiresAt = now + ttlSeconds
      const token = yield* Effect.promise(() =>
        new SignJWT({ sid: claims.sid })
          .setProtectedHeader({ alg: "HS256", typ: "JWT" })
          .setSubject(claims.sub)
          .setIssuedAt(now)
          .setExpirationTime(expiresAt)
          .setJti(crypto.randomUUID())
          .sign(key)
      )
      return { token, expiresAt: expiresAt * 1000 } satisfies IssuedSession
    })

    return { issue } as const
  })
}) {}
