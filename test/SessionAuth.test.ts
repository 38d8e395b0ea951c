/**
 * Message auth and scopes end to end over real loopback sockets: each refused session token fails
 * that request only (typed `Unauthorized` with its reason) while another stream on the same connection
 * keeps streaming; scopes come from the credential only; named tokens are principals; the typed client
 * sends and refreshes its session token.
 */
import { layer } from "@effect/vitest"
import { Context, Effect, Layer, Option, Stream } from "effect"
import { decodeJwt, SignJWT } from "jose"
import { describe, expect, it } from "vitest"
import { GatewayClient } from "../src/Client/GatewayClient.js"
import { failure, field, type Json, RawSocket, streamed } from "./support/RawSocket.js"
import { startInProcessGateway, type TestGateway } from "./support/TestGateway.js"

const secret = "test-session-key-0123456789abcdef"
const key = new TextEncoder().encode(secret)
const words = (count: number) => Array.from({ length: count }, (_, i) => `w${i}`).join(" ")
/** The text of a run's token deltas, joined (deltas that arrive together come as one). */
const textOf = (values: ReadonlyArray<Json>) =>
  values.filter((event) => event._tag === "TokenDelta").map((event) => String(event.text)).join("")

class Gateway extends Context.Tag("test/SessionAuthGateway")<Gateway, TestGateway>() {}

const gatewayLayer = Layer.scoped(
  Gateway,
  startInProcessGateway({
    gateway: {
      auth: {
        token: "default-token",
        tokens: [
          { name: "reader", token: "reader-token", scopes: ["runs:read"] },
          { name: "writer", token: "writer-token", scopes: ["runs:write"], quota: { maxConcurrentRuns: 1 } }
        ]
      }
    },
    security: { jwt: { secret, clockSkewSeconds: 5 } },
    models: { providers: { mock: { tokenDelayMs: 10, reply: words(100) } } }
  })
)

/** A token as `Connect` would issue it, with `overrides` applied (claims, header, key). */
const forge = (gateway: TestGateway, claims: {
  readonly sid: string
  readonly sub: string
  readonly exp?: number
  readonly nbf?: number
  readonly aud?: string
  readonly alg?: string
  readonly key?: Uint8Array
  readonly extra?: Record<string, unknown>
}) => {
  const now = Math.floor(Date.now() / 1000)
  let jwt = new SignJWT({ sid: claims.sid, ...claims.extra })
    .setProtectedHeader({ alg: claims.alg ?? "HS256", typ: "JWT" })
    .setIssuer("openclaw-gateway")
    .setAudience(claims.aud ?? gateway.sessions.audience)
    .setSubject(claims.sub)
    .setIssuedAt(now - 1)
    .setExpirationTime(claims.exp ?? now + 60)
    .setJti(crypto.randomUUID())
  if (claims.nbf !== undefined) jwt = jwt.setNotBefore(claims.nbf)
  return jwt.sign(claims.key ?? key)
}

const base64url = (value: unknown) => Buffer.from(JSON.stringify(value)).toString("base64url")

const reasonOf = (exit: unknown) => {
  expect(field(failure(exit), "_tag")).toBe("Unauthorized")
  return field(failure(exit), "reason")
}

layer(gatewayLayer, { excludeTestServices: true })("message auth over a raw socket", (it) => {
  it.effect("each bad session token fails its own request only; another stream keeps streaming", () =>
    Effect.gen(function*() {
      const gateway = yield* Gateway
      yield* Effect.promise(async () => {
        const socket = await RawSocket.open(gateway.url, "default-token")
        const other = await RawSocket.open(gateway.url, "default-token")
        const jwt = await socket.connect()
        const otherJwt = await other.connect()
        const sid = String(decodeJwt(jwt).sid)
        expect(decodeJwt(jwt).sub).toBe("default")

        socket.request("1", "StartRun", { mode: "inline", prompt: "long" }, jwt)
        const streaming = streamed(socket, "1")
        await streaming.firstChunk

        const refused = async (id: string, token: string | undefined) => {
          socket.request(id, "Status", {}, token)
          return reasonOf(await socket.exit(id))
        }
        const now = Math.floor(Date.now() / 1000)
        expect(await refused("10", undefined)).toBe("missing")
        expect(await refused("11", "not.a.jwt")).toBe("malformed")
        const wrongKey = new TextEncoder().encode("another-key-0123456789abcdef-xyz")
        expect(await refused("12", await forge(gateway, { sid, sub: "default", key: wrongKey }))).toBe("signature")
        const unsigned = `${base64url({ alg: "none", typ: "JWT" })}.${base64url(decodeJwt(jwt))}.`
        expect(await refused("13", unsigned)).toBe("algorithm")
        expect(await refused("14", await forge(gateway, { sid, sub: "default", alg: "HS512" }))).toBe("algorithm")
        expect(await refused("15", await forge(gateway, { sid, sub: "default", exp: now - 30 }))).toBe("expired")
        expect(await refused("16", await forge(gateway, { sid, sub: "default", nbf: now + 60 }))).toBe("notYetValid")
        expect(await refused("17", await forge(gateway, { sid, sub: "default", aud: "openclaw-gateway:old" })))
          .toBe("otherGateway")
        // Token swapping: the other connection's genuine token is refused here, and this one there.
        expect(await refused("18", otherJwt)).toBe("otherConnection")
        other.request("18", "Status", {}, jwt)
        expect(reasonOf(await other.exit("18"))).toBe("otherConnection")
        // A revoked session: a second token of this connection, revoked by jti.
        const second = await socket.connect("19")
        await Effect.runPromise(gateway.sessions.revoke(String(decodeJwt(second).jti)))
        expect(await refused("20", second)).toBe("revoked")
        // Within the clock skew (5 s) an expired token still passes.
        socket.request("21", "Status", {}, await forge(gateway, { sid, sub: "default", exp: now - 2 }))
        expect(field(await socket.exit("21"), "_tag")).toBe("Success")

        socket.request("22", "Status", {}, jwt)
        expect(field(await socket.exit("22"), "_tag")).toBe("Success")
        const { exit, values } = await streaming.result
        expect(field(exit, "_tag")).toBe("Success")
        expect(textOf(values)).toBe(words(100))
        expect(values.map((event) => event.seq)).toEqual(values.map((_, index) => index))

        // Revoking a connection's sessions refuses all its tokens; Connect then issues a valid one.
        await Effect.runPromise(gateway.sessions.revokeConnection(sid))
        expect(await refused("23", jwt)).toBe("revoked")
        const renewed = await socket.connect("24")
        socket.request("25", "Status", {}, renewed)
        expect(field(await socket.exit("25"), "_tag")).toBe("Success")
        socket.close()
        other.close()
      })
    }))

  it.effect("named tokens are principals whose scopes come from the credential only", () =>
    Effect.gen(function*() {
      const gateway = yield* Gateway
      yield* Effect.promise(async () => {
        const reader = await RawSocket.open(gateway.url, "reader-token")
        const writer = await RawSocket.open(gateway.url, "writer-token")
        const readerJwt = await reader.connect()
        const writerJwt = await writer.connect()
        expect(decodeJwt(readerJwt).sub).toBe("reader")
        expect(decodeJwt(writerJwt).sub).toBe("writer")

        reader.request("1", "Status", {}, readerJwt)
        expect(field(await reader.exit("1"), "_tag")).toBe("Success")
        reader.request("2", "StartRun", { mode: "inline", prompt: "x" }, readerJwt)
        const startRefused = failure((await reader.collect("2")).exit)
        expect(startRefused).toMatchObject({ _tag: "Forbidden", principal: "reader", scope: "runs:write" })
        reader.request("3", "CancelRun", { runId: "nope" }, readerJwt)
        expect(failure(await reader.exit("3"))).toMatchObject({ _tag: "Forbidden", scope: "runs:write" })

        // Even a validly signed token that claims another principal or scopes changes nothing.
        const sid = String(decodeJwt(readerJwt).sid)
        reader.request("4", "Status", {}, await forge(gateway, { sid, sub: "default" }))
        expect(reasonOf(await reader.exit("4"))).toBe("otherPrincipal")
        const claimsAdmin = await forge(gateway, { sid, sub: "reader", extra: { scopes: ["admin"], scope: "admin" } })
        reader.request("5", "StartRun", { mode: "inline", prompt: "x" }, claimsAdmin)
        expect(failure((await reader.collect("5")).exit)).toMatchObject({ _tag: "Forbidden", principal: "reader" })
        // The writer's genuine token does not make the reader the writer.
        reader.request("6", "StartRun", { mode: "inline", prompt: "x" }, writerJwt)
        expect(reasonOf((await reader.collect("6")).exit)).toBe("otherConnection")

        // The writer may run but not read status; its own quota (1 concurrent run) applies to it alone.
        writer.request("1", "Status", {}, writerJwt)
        expect(failure(await writer.exit("1")))
          .toMatchObject({ _tag: "Forbidden", principal: "writer", scope: "runs:read" })
        writer.request("2", "StartRun", { mode: "inline", prompt: "long" }, writerJwt)
        const first = streamed(writer, "2")
        await first.firstChunk
        writer.request("3", "StartRun", { mode: "inline", prompt: "again" }, writerJwt)
        expect(failure((await writer.collect("3")).exit)).toMatchObject({
          _tag: "QuotaExceeded",
          principal: "writer",
          limit: "concurrentRuns"
        })
        expect(field((await first.result).exit, "_tag")).toBe("Success")
        reader.close()
        writer.close()
      })
    }))
})

describe("the typed client with message auth", () => {
  it("sends its session token and refreshes it during a long stream without interrupting it", async () => {
    const program = Effect.gen(function*() {
      const gateway = yield* startInProcessGateway({
        security: { jwt: { ttlSeconds: 2, clockSkewSeconds: 0 } },
        models: { providers: { mock: { tokenDelayMs: 20, reply: words(200) } } }
      })
      return yield* Effect.gen(function*() {
        const client = yield* GatewayClient
        const first = yield* client.connect
        const events = yield* Stream.runCollect(client.startRun({ mode: "inline", prompt: "long" })).pipe(Effect.fork)
        // Past the first token's lifetime (2 s, no skew): the client has replaced it meanwhile.
        yield* Effect.sleep("3 seconds")
        const current = Option.getOrThrow(yield* client.serverInfo)
        expect(current.sessionToken).not.toBe(first.sessionToken)
        expect(current.connectionId).toBe(first.connectionId)
        const status = yield* client.status
        expect(status.runs).toHaveLength(1)
        const collected = Array.from(yield* events.await.pipe(Effect.flatten))
        expect(collected.at(-1)?._tag).toBe("RunCompleted")
        expect(collected.flatMap((event) => event._tag === "TokenDelta" ? [event.text] : []).join("")).toBe(words(200))
      }).pipe(Effect.provide(GatewayClient.layer({ url: gateway.url, token: gateway.token })))
    })
    await Effect.runPromise(Effect.scoped(program))
  }, 20_000)
})
