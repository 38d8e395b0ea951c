/**
 * Session JWTs (HS256, `jose`) issued by `Connect`: bound to one gateway start (`aud`), one connection
 * (`sid`) and one principal (`sub`), short-lived, revocable by `jti`. The key comes from
 * `security.jwt.secret` or is generated per start; either way the audience is new at each start, so a
 * restart invalidates every session even with a configured key (connection ids restart at 0).
 */
import { Clock, Effect, Redacted } from "effect"
import { errors, jwtVerify, SignJWT } from "jose"
import * as crypto from "node:crypto"
import { GatewayConfig } from "../Config/GatewayConfig.js"
import { Unauthorized, type UnauthorizedReason } from "../Domain/AuthError.js"

export interface IssuedSession {
  readonly token: string
  readonly jti: string
  readonly expiresAt: number
}

/** The claims of a verified session token. */
export interface SessionClaims {
  readonly sid: string
  readonly sub: string
  readonly jti: string
  readonly exp: number
}

/** What the token must be bound to: the connection the message arrived on and its principal. */
export interface SessionBinding {
  readonly sid: string
  readonly sub: string
}

export const Issuer = "openclaw-gateway"

/**
 * Revoked `jti`s are kept until the token could no longer pass the `exp` check anyway. A bound on the
 * set keeps a flood of revocations from growing memory: past it, the oldest revocations are forgotten
 * (those tokens are the closest to expiring) and a warning is logged.
 */
export const MaxRevoked = 100_000

/** Issued tokens remembered by their text (see `known`); past it the oldest are verified in full again. */
export const MaxKnown = 100_000

/** Issued `jti`s remembered per connection (for `revokeConnection`); older ones are revoked when exceeded. */
export const MaxIssuedPerConnection = 64

const reasonOf = (error: unknown): UnauthorizedReason => {
  if (error instanceof errors.JWTExpired) return "expired"
  if (error instanceof errors.JWTClaimValidationFailed) {
    if (error.claim === "nbf") return "notYetValid"
    if (error.claim === "aud" || error.claim === "iss") return "otherGateway"
    return "malformed"
  }
  if (error instanceof errors.JOSEAlgNotAllowed || error instanceof errors.JOSENotSupported) return "algorithm"
  if (error instanceof errors.JWSSignatureVerificationFailed) return "signature"
  return "malformed"
}

export class SessionTokens extends Effect.Service<SessionTokens>()("openclaw/SessionTokens", {
  effect: Effect.gen(function*() {
    const { config } = yield* GatewayConfig
    const key = config.security.jwt.secret === undefined
      ? new Uint8Array(crypto.randomBytes(32))
      : new TextEncoder().encode(Redacted.value(config.security.jwt.secret))
    const { clockSkewSeconds, ttlSeconds } = config.security.jwt
    const audience = `openclaw-gateway:${crypto.randomUUID()}`
    /** jti → the time (s) after which the token fails the `exp` check even with the skew. */
    const revoked = new Map<string, number>()
    /** sid → jti → exp (s), for `revokeConnection`. */
    const issued = new Map<string, Map<string, number>>()
    /**
     * The tokens this gateway issued, by their text, until they expire: a message carrying one needs no signature
     * check (an HMAC on libuv's thread pool per message, most of the cost of a small request). Its expiry, binding and
     * revocation are still checked on every message; a token not found here is verified in full.
     */
    const known = new Map<string, SessionClaims>()
    let lastSweep = 0

    const nowSeconds = Effect.map(Clock.currentTimeMillis, (millis) => Math.floor(millis / 1000))

    const sweep = (now: number) => {
      if (now - lastSweep < 60) return
      lastSweep = now
      for (const [jti, until] of revoked) if (until < now) revoked.delete(jti)
      for (const [token, claims] of known) if (claims.exp + clockSkewSeconds < now) known.delete(token)
      for (const [sid, tokens] of issued) {
        for (const [jti, exp] of tokens) if (exp + clockSkewSeconds < now) tokens.delete(jti)
        if (tokens.size === 0) issued.delete(sid)
      }
    }

    const revokeAt = (jti: string, now: number) => {
      revoked.delete(jti)
      revoked.set(jti, now + ttlSeconds + clockSkewSeconds)
      if (revoked.size <= MaxRevoked) return Effect.void
      lastSweep = 0
      sweep(now)
      let forgotten = 0
      for (const oldest of revoked.keys()) {
        if (revoked.size <= MaxRevoked) break
        revoked.delete(oldest)
        forgotten++
      }
      return forgotten === 0
        ? Effect.void
        : Effect.logWarning(`session revocations over ${MaxRevoked}: forgot the ${forgotten} oldest`)
    }

    const issue = Effect.fn("SessionTokens.issue")(function*(claims: { readonly sid: string; readonly sub: string }) {
      const now = yield* nowSeconds
      sweep(now)
      const expiresAt = now + ttlSeconds
      const jti = crypto.randomUUID()
      const token = yield* Effect.promise(() =>
        new SignJWT({ sid: claims.sid })
          .setProtectedHeader({ alg: "HS256", typ: "JWT" })
          .setIssuer(Issuer)
          .setAudience(audience)
          .setSubject(claims.sub)
          .setIssuedAt(now)
          .setExpirationTime(expiresAt)
          .setJti(jti)
          .sign(key)
      )
      known.set(token, { sid: claims.sid, sub: claims.sub, jti, exp: expiresAt })
      for (const oldest of known.keys()) {
        if (known.size <= MaxKnown) break
        known.delete(oldest)
      }
      const ofConnection = issued.get(claims.sid) ?? new Map<string, number>()
      ofConnection.set(jti, expiresAt)
      issued.set(claims.sid, ofConnection)
      for (const oldest of ofConnection.keys()) {
        if (ofConnection.size <= MaxIssuedPerConnection) break
        ofConnection.delete(oldest)
        yield* revokeAt(oldest, now)
      }
      return { token, jti, expiresAt: expiresAt * 1000 } satisfies IssuedSession
    })

    /** The full check of a token this gateway does not remember issuing (or has forgotten). */
    const verifySignature = (token: string, now: number) =>
      Effect.flatMap(
        Effect.tryPromise({
          try: () =>
            jwtVerify(token, key, {
              algorithms: ["HS256"],
              issuer: Issuer,
              audience,
              clockTolerance: clockSkewSeconds,
              currentDate: new Date(now),
              requiredClaims: ["sub", "jti", "exp", "iat"]
            }),
          catch: (error) => new Unauthorized({ reason: reasonOf(error) })
        }),
        ({ payload: { exp, jti, sid, sub } }): Effect.Effect<SessionClaims, Unauthorized> =>
          typeof sid === "string" && typeof sub === "string" && typeof jti === "string" && typeof exp === "number"
            ? Effect.succeed({ sid, sub, jti, exp })
            : Effect.fail(new Unauthorized({ reason: "malformed" }))
      )

    /**
     * Verifies a session token for a message that arrived on connection `binding.sid` of principal
     * `binding.sub`: HS256 only, signature, `iss`/`aud` of this gateway start, `exp`/`nbf` within the
     * skew (a token this gateway issued is recognised by its text instead), then the expiry, binding and
     * revocation. Claims never grant anything: they only have to match.
     */
    // No span of its own: it runs for every message, and its caller's span (the request's) covers it.
    const verify = Effect.fnUntraced(function*(token: string, binding: SessionBinding) {
      const now = yield* Clock.currentTimeMillis
      const claims = known.get(token) ?? (yield* verifySignature(token, now))
      // jose's own test: expired once `exp` is at or before now minus the skew, in whole seconds.
      if (claims.exp <= Math.floor(now / 1000) - clockSkewSeconds) return yield* new Unauthorized({ reason: "expired" })
      if (claims.sid !== binding.sid) return yield* new Unauthorized({ reason: "otherConnection" })
      if (claims.sub !== binding.sub) return yield* new Unauthorized({ reason: "otherPrincipal" })
      if (revoked.has(claims.jti)) return yield* new Unauthorized({ reason: "revoked" })
      return claims
    })

    /** Revokes one session token: later messages carrying it fail with `Unauthorized{revoked}`. */
    const revoke = Effect.fn("SessionTokens.revoke")(function*(jti: string) {
      yield* revokeAt(jti, yield* nowSeconds)
    })

    /** Revokes every token issued to a connection so far (a later `Connect` on it issues a valid one). */
    const revokeConnection = Effect.fn("SessionTokens.revokeConnection")(function*(sid: string) {
      const now = yield* nowSeconds
      const tokens = issued.get(sid)
      issued.delete(sid)
      for (const jti of tokens?.keys() ?? []) yield* revokeAt(jti, now)
    })

    return { issue, verify, revoke, revokeConnection, audience } as const
  })
}) {}
