/**
 * External issuers (`security.jwt.issuers`): an identity provider's JWT presented as the upgrade's Bearer
 * credential. The unverified `iss` only picks which configured issuer to verify against; that issuer's key
 * (JWKS or PEM) and algorithm list alone decide, `iss`, `aud`, `sub` and `exp` are required, and the
 * principal `<issuer name>:<sub>` gets the token's scope claim intersected with the issuer's `scopes`.
 */
import { Clock, Data, Effect } from "effect"
import { createRemoteJWKSet, decodeJwt, errors, type JWTPayload, jwtVerify, type JWTVerifyOptions } from "jose"
import * as crypto from "node:crypto"
import type { ExternalIssuer } from "../Config/ConfigSchema.js"
import { Principal } from "../Domain/Principal.js"

/** A token of a configured issuer that failed verification; `reason` names no key and no token. */
export class IssuerTokenRejected extends Data.TaggedError("IssuerTokenRejected")<{
  readonly issuer: string
  readonly reason: string
}> {
  override get message() {
    return `token of issuer ${this.issuer} refused: ${this.reason}`
  }
}

/** `sub` becomes part of a principal name (logs, quotas, session tokens): printable and bounded. */
const validSubject = /^[\x21-\x7e]{1,256}$/

/** The scopes a token asks for: a space-separated string or an array of strings; anything else asks for none. */
export const requestedScopes = (claim: unknown): ReadonlyArray<string> => {
  if (typeof claim === "string") return claim.split(" ").filter((scope) => scope.length > 0)
  if (Array.isArray(claim)) return claim.filter((scope): scope is string => typeof scope === "string")
  return []
}

const reasonOf = (error: unknown): string => {
  if (error instanceof errors.JWTExpired) return "expired"
  if (error instanceof errors.JWTClaimValidationFailed) {
    if (error.claim === "nbf") return "not valid yet"
    return error.reason === "missing" ? `missing claim ${error.claim}` : `wrong claim ${error.claim}`
  }
  if (error instanceof errors.JOSEAlgNotAllowed) return "algorithm not allowed"
  if (error instanceof errors.JWSSignatureVerificationFailed) return "invalid signature"
  if (error instanceof errors.JWKSNoMatchingKey) return "no matching key"
  if (error instanceof errors.JWKSTimeout) return "key set unavailable (timeout)"
  if (error instanceof errors.JWKSInvalid) return "key set unavailable (invalid)"
  if (error instanceof errors.JOSENotSupported) return "unsupported algorithm or key"
  if (error instanceof errors.JWSInvalid || error instanceof errors.JWTInvalid) return "malformed token"
  // fetch failures (connection refused, DNS, non-200) surface as plain errors from jose's fetch.
  return error instanceof errors.JOSEError ? "malformed token" : "key set unavailable"
}

interface Verifier {
  readonly config: ExternalIssuer
  readonly verify: (token: string, options: JWTVerifyOptions) => Promise<JWTPayload>
}

const makeVerifier = (config: ExternalIssuer): Verifier => {
  if (config.jwksUrl !== undefined) {
    const jwks = createRemoteJWKSet(new URL(config.jwksUrl), { timeoutDuration: config.jwksTimeoutMs })
    return { config, verify: (token, options) => jwtVerify(token, jwks, options).then((result) => result.payload) }
  }
  // The schema guarantees exactly one of jwksUrl and publicKey, and that the PEM parses.
  const key = crypto.createPublicKey({ key: config.publicKey ?? "", format: "pem" })
  return { config, verify: (token, options) => jwtVerify(token, key, options).then((result) => result.payload) }
}

/**
 * Verifies a presented Bearer token against the configured issuers. `undefined` when the token is not a
 * JWT or names no configured issuer (it may still be a gateway token); otherwise the principal or why not.
 */
export const make = (issuers: ReadonlyArray<ExternalIssuer>, clockSkewSeconds: number) => {
  const byIss = new Map(issuers.map((issuer) => [issuer.issuer, makeVerifier(issuer)] as const))

  const issuerOf = (token: string): Verifier | undefined => {
    if (byIss.size === 0) return undefined
    try {
      const iss = decodeJwt(token).iss
      return iss === undefined ? undefined : byIss.get(iss)
    } catch {
      return undefined
    }
  }

  const verify = Effect.fn("ExternalIssuers.verify")(function*(verifier: Verifier, token: string) {
    const { config } = verifier
    const now = yield* Clock.currentTimeMillis
    const payload = yield* Effect.tryPromise({
      try: () =>
        verifier.verify(token, {
          issuer: config.issuer,
          audience: config.audience,
          algorithms: [...config.algorithms],
          clockTolerance: clockSkewSeconds,
          currentDate: new Date(now),
          requiredClaims: ["iss", "aud", "sub", "exp"]
        }),
      catch: (error) => new IssuerTokenRejected({ issuer: config.name, reason: reasonOf(error) })
    })
    const sub = payload.sub ?? ""
    if (!validSubject.test(sub)) {
      return yield* new IssuerTokenRejected({ issuer: config.name, reason: "sub is not 1-256 printable characters" })
    }
    const requested = requestedScopes(payload[config.scopeClaim])
    const scopes = config.scopes.filter((scope) => requested.includes(scope))
    return new Principal({ name: `${config.name}:${sub}`, scopes })
  })

  return { issuerOf, verify, configured: byIss.size > 0 } as const
}
