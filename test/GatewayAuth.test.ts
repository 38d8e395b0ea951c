/** Handshake auth decisions at start (token source, refusal to expose an open gateway) and session JWTs. */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Exit, Layer, Redacted, TestClock } from "effect"
import { decodeJwt, jwtVerify, SignJWT } from "jose"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { presentedToken, tokenMatches } from "../src/Auth/BearerToken.js"
import { GatewayAuth, GatewayStartupError, isLoopbackAddress } from "../src/Auth/GatewayAuth.js"
import { SessionTokens } from "../src/Auth/SessionTokens.js"
import type { OpenclawConfigInput } from "../src/Config/ConfigSchema.js"
import { GatewayConfig } from "../src/Config/GatewayConfig.js"

const tempFile = (name: string) => path.join(fs.mkdtempSync(path.join(os.tmpdir(), "openclaw-auth-")), name)

const makeAuth = (input: OpenclawConfigInput) =>
  Effect.provide(GatewayAuth, GatewayAuth.Default.pipe(Layer.provide(GatewayConfig.layerTest(input))))

describe("GatewayAuth", () => {
  it.effect("on loopback without a configured token, generates one and writes it with mode 0600", () =>
    Effect.gen(function*() {
      const tokenFile = tempFile("gateway.token")
      const auth = yield* makeAuth({ gateway: { auth: { tokenFile } } })
      const token = fs.readFileSync(tokenFile, "utf8").trim()
      expect(token.length).toBeGreaterThanOrEqual(40)
      expect(fs.statSync(tokenFile).mode & 0o777).toBe(0o600)
      expect(fs.statSync(path.dirname(tokenFile)).isDirectory()).toBe(true)
      expect((yield* auth.checkHandshake({ authorization: `Bearer ${token}` }))._tag).toBe("Accepted")
      expect(yield* auth.checkHandshake({ authorization: "Bearer nope" })).toEqual({
        _tag: "Rejected",
        reason: "invalid bearer token"
      })
      expect(yield* auth.checkHandshake({})).toEqual({ _tag: "Rejected", reason: "missing bearer token" })
    }))

  it.effect("a new start rotates the generated token: the old one is refused", () =>
    Effect.gen(function*() {
      const tokenFile = tempFile("gateway.token")
      yield* makeAuth({ gateway: { auth: { tokenFile } } })
      const first = fs.readFileSync(tokenFile, "utf8").trim()
      const second = yield* makeAuth({ gateway: { auth: { tokenFile } } })
      expect(fs.readFileSync(tokenFile, "utf8").trim()).not.toBe(first)
      expect((yield* second.checkHandshake({ authorization: `Bearer ${first}` }))._tag).toBe("Rejected")
    }))

  it.effect("a configured token is used as is and no file is written", () =>
    Effect.gen(function*() {
      const tokenFile = tempFile("gateway.token")
      const auth = yield* makeAuth({ gateway: { bind: "0.0.0.0", auth: { token: "s3cret-token", tokenFile } } })
      expect(fs.existsSync(tokenFile)).toBe(false)
      expect((yield* auth.checkHandshake({ authorization: "Bearer s3cret-token" }))._tag).toBe("Accepted")
      const subprotocol = yield* auth.checkHandshake({ "sec-websocket-protocol": "openclaw, bearer.s3cret-token" })
      expect(subprotocol._tag).toBe("Accepted")
      expect((yield* auth.checkHandshake({ authorization: "Bearer s3cret-token-but-longer" }))._tag).toBe("Rejected")
    }))

  it.effect("refuses to start on a non-loopback address without a token", () =>
    Effect.gen(function*() {
      const exit = yield* Effect.exit(makeAuth({ gateway: { bind: "0.0.0.0", auth: { tokenFile: tempFile("t") } } }))
      expect(exit).toStrictEqual(Exit.fail(expect.any(GatewayStartupError)))
      if (Exit.isFailure(exit)) expect(String(exit.cause)).toMatch(/not loopback/)
    }))

  it.effect("refuses to start unauthenticated on a non-loopback address", () =>
    Effect.gen(function*() {
      const exit = yield* Effect.exit(
        makeAuth({ gateway: { bind: "192.0.2.1", auth: { token: "x" } }, security: { websocket: { enabled: false } } })
      )
      expect(Exit.isFailure(exit) && String(exit.cause).includes("only listen on loopback")).toBe(true)
    }))

  it.effect("with authentication disabled on loopback, everyone is accepted", () =>
    Effect.gen(function*() {
      const auth = yield* makeAuth({ security: { websocket: { enabled: false } } })
      expect((yield* auth.checkHandshake({}))._tag).toBe("Accepted")
    }))

  it.effect("named tokens are principals with their own scopes; gateway.auth.token is \"default\" with all", () =>
    Effect.gen(function*() {
      const tokenFile = tempFile("gateway.token")
      const auth = yield* makeAuth({
        gateway: {
          auth: {
            token: "default-token",
            tokenFile,
            tokens: [{ name: "reader", token: "reader-token", scopes: ["runs:read"] }]
          }
        }
      })
      const principalOf = (token: string) =>
        Effect.map(
          auth.checkHandshake({ authorization: `Bearer ${token}` }),
          (verdict) => verdict._tag === "Accepted" ? [verdict.principal.name, verdict.principal.scopes] : verdict.reason
        )
      expect(yield* principalOf("reader-token")).toEqual(["reader", ["runs:read"]])
      expect(yield* principalOf("default-token")).toEqual(["default", ["runs:write", "runs:read", "admin"]])
      expect(yield* principalOf("reader-token-x")).toBe("invalid bearer token")
      expect(fs.existsSync(tokenFile)).toBe(false)
    }))

  it.effect("with named tokens only, nothing is generated and a non-loopback bind is allowed", () =>
    Effect.gen(function*() {
      const tokenFile = tempFile("gateway.token")
      const auth = yield* makeAuth({
        gateway: {
          bind: "0.0.0.0",
          auth: { tokenFile, tokens: [{ name: "ci", token: "ci-token", scopes: ["admin"] }] }
        }
      })
      expect(fs.existsSync(tokenFile)).toBe(false)
      expect((yield* auth.checkHandshake({ authorization: "Bearer ci-token" }))._tag).toBe("Accepted")
    }))

  it("knows loopback addresses", () => {
    expect(["127.0.0.1", "127.1.2.3", "::1", "localhost"].every(isLoopbackAddress)).toBe(true)
    expect(["0.0.0.0", "192.168.1.2", "::", "example.com"].some(isLoopbackAddress)).toBe(false)
  })

  it("reads the token from the Authorization header or the bearer subprotocol, nothing else", () => {
    expect(presentedToken({ authorization: "Bearer abc" })).toBe("abc")
    expect(presentedToken({ authorization: "bearer   abc  " })).toBe("abc")
    expect(presentedToken({ authorization: "Basic abc" })).toBeUndefined()
    expect(presentedToken({ "sec-websocket-protocol": "openclaw, bearer.xyz" })).toBe("xyz")
    expect(presentedToken({ "sec-websocket-protocol": "openclaw" })).toBeUndefined()
    expect(tokenMatches("abc", Redacted.make("abc"))).toBe(true)
    expect(tokenMatches("abd", Redacted.make("abc"))).toBe(false)
    expect(tokenMatches("", Redacted.make("abc"))).toBe(false)
  })
})

describe("SessionTokens", () => {
  it.effect("issues an HS256 JWT bound to the connection and principal, with exp, iat and jti", () =>
    Effect.gen(function*() {
      const sessions = yield* Effect.provide(
        SessionTokens,
        SessionTokens.Default.pipe(
          Layer.provide(GatewayConfig.layerTest({ security: { jwt: { secret: "k".repeat(32), ttlSeconds: 60 } } }))
        )
      )
      const issued = yield* sessions.issue({ sid: "7", sub: "default" })
      const { payload, protectedHeader } = yield* Effect.promise(() =>
        jwtVerify(issued.token, new TextEncoder().encode("k".repeat(32)), { algorithms: ["HS256"], currentDate: new Date(0) })
      )
      expect(protectedHeader.alg).toBe("HS256")
      expect(payload).toMatchObject({ sid: "7", sub: "default", iss: "openclaw-gateway", aud: sessions.audience })
      // TestClock: issued at time 0, valid for the configured 60 s
      expect(payload.iat).toBe(0)
      expect(payload.exp).toBe(60)
      expect(issued.expiresAt).toBe(60_000)
      const other = yield* sessions.issue({ sid: "7", sub: "default" })
      expect(decodeJwt(other.token).jti).not.toBe(payload.jti)
    }))

  it.effect("checks expiry, binding and revocation on every message, for its own tokens as for re-signed copies", () =>
    Effect.gen(function*() {
      const secret = "k".repeat(32)
      const sessions = yield* Effect.provide(
        SessionTokens,
        SessionTokens.Default.pipe(Layer.provide(GatewayConfig.layerTest({
          security: { jwt: { secret, ttlSeconds: 60, clockSkewSeconds: 5 } }
        })))
      )
      const binding = { sid: "7", sub: "default" }
      const issued = yield* sessions.issue(binding)
      // The same claims signed again: a token the gateway never issued, so it is verified in full (jose's checks).
      const copy = yield* Effect.promise(() =>
        new SignJWT(decodeJwt(issued.token)).setProtectedHeader({ alg: "HS256" }).sign(new TextEncoder().encode(secret))
      )
      expect(copy).not.toBe(issued.token)
      const verdict = (token: string, bound = binding) =>
        sessions.verify(token, bound).pipe(
          Effect.match({ onFailure: (error) => error.reason, onSuccess: (claims) => claims.jti })
        )
      const jti = String(decodeJwt(issued.token).jti)
      for (const token of [issued.token, copy]) {
        expect(yield* verdict(token)).toBe(jti)
        expect(yield* verdict(token, { sid: "8", sub: "default" })).toBe("otherConnection")
        expect(yield* verdict(token, { sid: "7", sub: "other" })).toBe("otherPrincipal")
      }
      // Valid for 60 s plus the 5 s skew: both paths agree on the last millisecond and the first refused one.
      yield* TestClock.adjust(64_999)
      expect([yield* verdict(issued.token), yield* verdict(copy)]).toEqual([jti, jti])
      yield* TestClock.adjust(1)
      expect([yield* verdict(issued.token), yield* verdict(copy)]).toEqual(["expired", "expired"])
      // Revocation applies to the token the gateway remembers as well.
      const second = yield* sessions.issue(binding)
      yield* sessions.revoke(String(decodeJwt(second.token).jti))
      expect(yield* verdict(second.token)).toBe("revoked")
    }))
})
