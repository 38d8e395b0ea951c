/**
 * External issuers end to end on loopback: an identity provider's JWT (keys generated here, JWKS served by a
 * local HTTP server, or a PEM public key in the config) as the upgrade's Bearer credential; every forgery is a
 * 401 before the upgrade, and scopes never exceed the issuer's. Also the `security.jwt.issuers` schema rules.
 */
import { layer } from "@effect/vitest"
import { Context, Effect, Either, Layer } from "effect"
import { decodeJwt, exportJWK, exportSPKI, generateKeyPair, type JWTPayload, SignJWT } from "jose"
import * as crypto from "node:crypto"
import * as http from "node:http"
import { describe, expect, it } from "vitest"
import WebSocket from "ws"
import { decodeConfig } from "../src/Config/ConfigLoader.js"
import { failure, field, RawSocket } from "./support/RawSocket.js"
import { startInProcessGateway, type TestGateway, unusedPort } from "./support/TestGateway.js"

const Iss = "https://idp.example.test/"
const PemIss = "https://pem.example.test/"
const Audience = "openclaw-gateway-tests"
const Kid = "idp-key-1"

type SigningKey = Parameters<SignJWT["sign"]>[0]

interface Fixture {
  readonly gateway: TestGateway
  readonly idpKey: SigningKey
  readonly otherKey: SigningKey
  readonly pemKey: SigningKey
  readonly publicPem: string
}

class Setup extends Context.Tag("test/ExternalIssuersSetup")<Setup, Fixture>() {}

/** A JWKS endpoint on 127.0.0.1 (ephemeral port), closed with the scope. */
const jwksServer = (jwks: unknown) =>
  Effect.acquireRelease(
    Effect.async<http.Server>((resume) => {
      const server = http.createServer((request, response) => {
        if (request.url !== "/jwks") return response.writeHead(404).end()
        response.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(jwks))
      })
      server.listen(0, "127.0.0.1", () => resume(Effect.succeed(server)))
    }),
    (server) =>
      Effect.async<void>((resume) => {
        server.closeAllConnections()
        server.close(() => resume(Effect.void))
      })
  )

const portOf = (server: http.Server): number => {
  const address = server.address()
  return typeof address === "object" && address !== null ? address.port : 0
}

const setupLayer = Layer.scoped(
  Setup,
  Effect.gen(function*() {
    const idp = yield* Effect.promise(() => generateKeyPair("RS256", { extractable: true }))
    const other = yield* Effect.promise(() => generateKeyPair("RS256"))
    const pem = yield* Effect.promise(() => generateKeyPair("ES256", { extractable: true }))
    const jwk = yield* Effect.promise(() => exportJWK(idp.publicKey))
    const publicPem = yield* Effect.promise(() => exportSPKI(pem.publicKey))
    const server = yield* jwksServer({ keys: [{ ...jwk, kid: Kid, alg: "RS256", use: "sig" }] })
    const deadPort = yield* Effect.promise(unusedPort)
    const gateway = yield* startInProcessGateway({
      gateway: { auth: { token: "gateway-token" } },
      security: {
        jwt: {
          clockSkewSeconds: 5,
          issuers: [
            {
              name: "idp",
              issuer: Iss,
              audience: Audience,
              jwksUrl: `http://127.0.0.1:${portOf(server)}/jwks`,
              scopes: ["runs:read"]
            },
            {
              name: "pem",
              issuer: PemIss,
              audience: Audience,
              publicKey: publicPem,
              algorithms: ["ES256"],
              scopes: ["runs:read", "runs:write"],
              scopeClaim: "scp"
            },
            {
              name: "down",
              issuer: "https://down.example.test/",
              audience: Audience,
              jwksUrl: `http://127.0.0.1:${deadPort}/jwks`,
              jwksTimeoutMs: 1000,
              scopes: ["runs:read"]
            }
          ]
        }
      }
    })
    return { gateway, idpKey: idp.privateKey, otherKey: other.privateKey, pemKey: pem.privateKey, publicPem }
  })
)

interface Claims {
  readonly iss?: string
  readonly aud?: string
  readonly sub?: string | null
  readonly exp?: number
  readonly nbf?: number
  readonly alg?: string
  readonly kid?: string
  readonly extra?: JWTPayload
}

/** An identity provider's token: valid for the `idp` issuer unless `claims` say otherwise. */
const idpToken = (key: SigningKey, claims: Claims = {}): Promise<string> => {
  const now = Math.floor(Date.now() / 1000)
  let jwt = new SignJWT({ scope: "runs:read", ...claims.extra })
    .setProtectedHeader({ alg: claims.alg ?? "RS256", typ: "JWT", kid: claims.kid ?? Kid })
    .setIssuer(claims.iss ?? Iss)
    .setAudience(claims.aud ?? Audience)
    .setIssuedAt(now - 1)
    .setExpirationTime(claims.exp ?? now + 300)
  if (claims.sub !== null) jwt = jwt.setSubject(claims.sub ?? "alice")
  if (claims.nbf !== undefined) jwt = jwt.setNotBefore(claims.nbf)
  return jwt.sign(key)
}

const base64url = (value: unknown) => Buffer.from(JSON.stringify(value)).toString("base64url")

/** The status and body of a refused upgrade (or 101 when it was accepted). */
const upgrade = (url: string, token: string) =>
  new Promise<{ readonly status: number; readonly body: string }>((resolve) => {
    const ws = new WebSocket(url, { headers: { authorization: `Bearer ${token}` } })
    ws.once("unexpected-response", (_request, response) => {
      let body = ""
      response.on("data", (chunk: Buffer) => {
        body += chunk.toString()
      })
      response.on("end", () => {
        resolve({ status: response.statusCode ?? 0, body })
        ws.terminate()
      })
    })
    ws.once("open", () => {
      ws.close()
      resolve({ status: 101, body: "" })
    })
    ws.once("error", () => undefined)
  })

// The IdP signs with the wall clock, so the gateway must verify with it too: no TestClock here.
layer(setupLayer, { timeout: 60_000, excludeTestServices: true })("external issuers", (it) => {
  it.effect("a valid IdP token (JWKS) connects as <issuer>:<sub> and may do what its scopes allow", () =>
    Effect.gen(function*() {
      const { gateway, idpKey } = yield* Setup
      yield* Effect.promise(async () => {
        const socket = await RawSocket.open(gateway.url, await idpToken(idpKey))
        const jwt = await socket.connect()
        expect(decodeJwt(jwt).sub).toBe("idp:alice")
        socket.request("1", "Status", {}, jwt)
        expect(field(await socket.exit("1"), "_tag")).toBe("Success")
        socket.request("2", "StartRun", { mode: "inline", prompt: "x" }, jwt)
        expect(failure((await socket.collect("2")).exit))
          .toMatchObject({ _tag: "Forbidden", principal: "idp:alice", scope: "runs:write" })
        socket.close()
      })
    }))

  it.effect("a scope claim asking for more than the issuer allows gets only the issuer's scopes", () =>
    Effect.gen(function*() {
      const { gateway, idpKey } = yield* Setup
      yield* Effect.promise(async () => {
        const greedy = await idpToken(idpKey, { sub: "mallory", extra: { scope: "admin runs:write runs:read" } })
        const socket = await RawSocket.open(gateway.url, greedy)
        const jwt = await socket.connect()
        socket.request("1", "Status", {}, jwt)
        expect(field(await socket.exit("1"), "_tag")).toBe("Success")
        socket.request("2", "StartRun", { mode: "inline", prompt: "x" }, jwt)
        expect(failure((await socket.collect("2")).exit))
          .toMatchObject({ _tag: "Forbidden", principal: "idp:mallory", scope: "runs:write" })
        socket.request("3", "CancelRun", { runId: "nope" }, jwt)
        expect(failure(await socket.exit("3"))).toMatchObject({ _tag: "Forbidden", scope: "runs:write" })
        // Only admin asked for, the issuer grants none of it: connected, with no scope at all.
        const adminOnly = await RawSocket.open(gateway.url, await idpToken(idpKey, { extra: { scope: "admin" } }))
        const adminJwt = await adminOnly.connect()
        adminOnly.request("1", "Status", {}, adminJwt)
        expect(failure(await adminOnly.exit("1"))).toMatchObject({ _tag: "Forbidden", scope: "runs:read" })
        adminOnly.close()
        socket.close()
      })
    }))

  it.effect("a PEM-configured issuer (ES256, array scope claim) may run what it grants", () =>
    Effect.gen(function*() {
      const { gateway, pemKey } = yield* Setup
      yield* Effect.promise(async () => {
        const token = await idpToken(pemKey, { iss: PemIss, alg: "ES256", sub: "bob", extra: { scp: ["runs:write"] } })
        const socket = await RawSocket.open(gateway.url, token)
        const jwt = await socket.connect()
        expect(decodeJwt(jwt).sub).toBe("pem:bob")
        socket.request("1", "StartRun", { mode: "inline", prompt: "hello" }, jwt)
        expect(field((await socket.collect("1")).exit, "_tag")).toBe("Success")
        socket.request("2", "Status", {}, jwt)
        expect(failure(await socket.exit("2"))).toMatchObject({ _tag: "Forbidden", principal: "pem:bob" })
        socket.close()
      })
    }))

  it.effect("gateway tokens still work next to issuers", () =>
    Effect.gen(function*() {
      const { gateway } = yield* Setup
      const accepted = yield* Effect.promise(() => upgrade(gateway.url, "gateway-token"))
      expect(accepted.status).toBe(101)
    }))

  it.effect("every forged, misdirected or stale token is refused with 401 at the upgrade", () =>
    Effect.gen(function*() {
      const { gateway, idpKey, otherKey, pemKey, publicPem } = yield* Setup
      const now = Math.floor(Date.now() / 1000)
      const valid = yield* Effect.promise(() => idpToken(idpKey))
      const [, payload = ""] = valid.split(".")
      const tampered = base64url({ ...decodeJwt(valid), sub: "root" })
      const cases: ReadonlyArray<readonly [string, () => Promise<string>, string]> = [
        ["wrong aud", () => idpToken(idpKey, { aud: "someone-else" }), "wrong claim aud"],
        ["unknown iss", () => idpToken(idpKey, { iss: "https://evil.example.test/" }), "invalid bearer token"],
        ["expired", () => idpToken(idpKey, { exp: now - 60 }), "expired"],
        ["not yet valid", () => idpToken(idpKey, { nbf: now + 60 }), "not valid yet"],
        ["no sub", () => idpToken(idpKey, { sub: null }), "missing claim sub"],
        ["alg none", () => Promise.resolve(`${base64url({ alg: "none", typ: "JWT" })}.${payload}.`), "algorithm"],
        [
          "HS256 keyed with the public key (key confusion)",
          () => idpToken(new TextEncoder().encode(publicPem), { iss: PemIss, alg: "HS256" }),
          "algorithm not allowed"
        ],
        ["signed by another key, same kid", () => idpToken(otherKey), "invalid signature"],
        ["another key's kid", () => idpToken(otherKey, { kid: "unknown-kid" }), "no matching key"],
        ["RS256 where the issuer allows ES256 only", () => idpToken(idpKey, { iss: PemIss }), "algorithm not allowed"],
        ["ES256 signed by the wrong issuer's key", () => idpToken(pemKey, { alg: "ES256" }), "algorithm not allowed"],
        ["unreachable JWKS", () => idpToken(idpKey, { iss: "https://down.example.test/" }), "key set unavailable"],
        ["tampered payload", () => Promise.resolve(valid.replace(payload, tampered)), "invalid signature"]
      ]
      for (const [name, make, reason] of cases) {
        const token = yield* Effect.promise(make)
        const refused = yield* Effect.promise(() => upgrade(gateway.url, token))
        expect([name, refused.status]).toEqual([name, 401])
        expect(refused.body, name).toContain(reason)
        expect(refused.body, name).not.toContain(token)
        expect(refused.body, name).not.toContain("BEGIN PUBLIC KEY")
      }
    }))
})

describe("security.jwt.issuers config", () => {
  const { publicKey } = crypto.generateKeyPairSync("ec", { namedCurve: "P-256" })
  const pem = publicKey.export({ type: "spki", format: "pem" })
  const base = { name: "idp", issuer: Iss, audience: Audience, scopes: ["runs:read"] }
  const issues = (issuers: ReadonlyArray<Record<string, unknown>>) =>
    Either.match(decodeConfig({ security: { jwt: { issuers } } }, "f.json"), {
      onLeft: (error) => error.issues,
      onRight: () => []
    })

  it("defaults: no issuers; an issuer's algorithms default to RS256 and its scope claim to \"scope\"", () => {
    const decoded = decodeConfig({ security: { jwt: { issuers: [{ ...base, jwksUrl: "https://idp/jwks" }] } } }, null)
    expect(Either.map(decodeConfig({}, null), (config) => config.security.jwt.issuers)).toEqual(Either.right([]))
    expect(Either.map(decoded, (config) => config.security.jwt.issuers[0])).toEqual(Either.right({
      ...base,
      jwksUrl: "https://idp/jwks",
      jwksTimeoutMs: 5000,
      algorithms: ["RS256"],
      scopeClaim: "scope"
    }))
  })

  it("needs exactly one of jwksUrl and publicKey", () => {
    const rule = { path: "security.jwt.issuers[0].jwksUrl", message: "set exactly one of jwksUrl and publicKey" }
    expect(issues([base])).toEqual([rule])
    expect(issues([{ ...base, jwksUrl: "https://idp/jwks", publicKey: pem }])).toEqual([rule])
    expect(issues([{ ...base, publicKey: pem, algorithms: ["ES256"] }])).toEqual([])
  })

  it("refuses none and HS* algorithms, plain-http JWKS off loopback, a bad or unfit PEM, duplicates", () => {
    const jwks = { ...base, jwksUrl: "https://idp/jwks" }
    expect(issues([{ ...jwks, algorithms: ["HS256"] }]).map((issue) => issue.path))
      .toEqual(["security.jwt.issuers[0].algorithms[0]"])
    expect(issues([{ ...jwks, algorithms: ["none"] }]).map((issue) => issue.path))
      .toEqual(["security.jwt.issuers[0].algorithms[0]"])
    expect(issues([{ ...jwks, algorithms: [] }]).map((issue) => issue.path))
      .toEqual(["security.jwt.issuers[0].algorithms[0]"])
    expect(issues([{ ...base, jwksUrl: "http://idp.example.test/jwks" }])).toEqual([
      { path: "security.jwt.issuers[0].jwksUrl", message: "must be https:// (plain http:// only on loopback)" }
    ])
    expect(issues([{ ...base, jwksUrl: "http://127.0.0.1:8080/jwks" }])).toEqual([])
    expect(issues([{ ...base, publicKey: "not a key" }])).toEqual([
      { path: "security.jwt.issuers[0].publicKey", message: "not a PEM public key (-----BEGIN PUBLIC KEY-----, SPKI)" }
    ])
    expect(issues([{ ...base, publicKey: pem }])).toEqual([
      { path: "security.jwt.issuers[0].algorithms", message: "the publicKey cannot verify RS256: it fits ES256" }
    ])
    expect(issues([{ ...base, publicKey: pem, algorithms: ["ES256", "RS256"] }])).toEqual([
      { path: "security.jwt.issuers[0].algorithms", message: "the publicKey cannot verify RS256: it fits ES256" }
    ])
    expect(issues([jwks, { ...jwks, issuer: "https://other/" }])).toEqual([
      { path: "security.jwt.issuers[1]", message: "issuer name \"idp\" is used twice" }
    ])
    expect(issues([jwks, { ...jwks, name: "other" }])).toEqual([
      { path: "security.jwt.issuers[1]", message: `issuer "${Iss}" is configured twice: each iss needs one entry` }
    ])
  })
})
