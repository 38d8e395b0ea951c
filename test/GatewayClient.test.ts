/**
 * The typed client against a real gateway started in-process on a loopback port: Connect, a streamed
 * run in order and complete, status, and the connection failures it must tell apart.
 */
import { layer } from "@effect/vitest"
import { Context, Effect, Either, Layer, Option, Stream } from "effect"
import { expect } from "vitest"
import { WebSocketServer } from "ws"
import {
  GatewayClient,
  type GatewayClientOptions,
  GatewayUnreachable,
  TokenRejected
} from "../src/Client/GatewayClient.js"
import { startInProcessGateway, type TestGateway, unusedPort } from "./support/TestGateway.js"

class Gateway extends Context.Tag("test/Gateway")<Gateway, TestGateway>() {}

const GatewayLayer = Layer.scoped(Gateway, startInProcessGateway())

/** Runs `body` with a client of the test gateway; `options` override its URL and token. */
const withClient = <A, E, R>(
  body: (client: Context.Tag.Service<typeof GatewayClient>) => Effect.Effect<A, E, R>,
  options: (gateway: TestGateway) => GatewayClientOptions = (gateway) => ({ url: gateway.url, token: gateway.token })
) =>
  Effect.gen(function*() {
    const gateway = yield* Gateway
    return yield* Effect.flatMap(GatewayClient, body).pipe(Effect.provide(GatewayClient.layer(options(gateway))))
  })

layer(GatewayLayer, { excludeTestServices: true })("GatewayClient", (it) => {
  it.effect("Connect returns the server info with a session token, kept by the client", () =>
    withClient((client) =>
      Effect.gen(function*() {
        expect(yield* client.serverInfo).toEqual(Option.none())
        const info = yield* client.connect
        expect(info.name).toBe("openclaw-gateway")
        expect(info.sessionToken.split(".")).toHaveLength(3)
        expect(info.allowedAgents).toContain(info.defaultAgent)
        expect(Option.getOrThrow(yield* client.serverInfo).connectionId).toBe(info.connectionId)
      })
    ))

  it.effect("a streamed run arrives complete and in order", () =>
    withClient((client) =>
      Effect.gen(function*() {
        const run = client.startRun({ prompt: "hello gateway", mode: "inline" })
        const events = Array.from(yield* Stream.runCollect(run))
        expect(events.map((event) => event.seq)).toEqual(events.map((_, index) => index))
        expect(new Set(events.map((event) => event.runId)).size).toBe(1)
        const last = events[events.length - 1]
        if (last?._tag !== "RunCompleted") throw new Error(`last event is ${last?._tag}`)
        const streamed = events.flatMap((event) => (event._tag === "TokenDelta" ? [event.text] : [])).join("")
        expect(streamed.length).toBeGreaterThan(0)
        expect(streamed).toBe(last.text)
        expect(last.text).toContain("hello gateway")
        expect(events.filter((event) => event._tag === "RunCompleted")).toHaveLength(1)
      })
    ))

  it.effect("a refused agent fails the stream with AgentNotAllowed", () =>
    withClient((client) =>
      Effect.gen(function*() {
        const result = yield* Stream.runCollect(client.startRun({ agent: "nope", prompt: "hi" })).pipe(Effect.either)
        if (Either.isRight(result)) throw new Error("expected a failure")
        expect(result.left._tag).toBe("AgentNotAllowed")
      })
    ))

  it.effect("status reports this connection", () =>
    withClient((client) =>
      Effect.gen(function*() {
        const gateway = yield* Gateway
        const status = yield* client.status
        expect(status.listen).toBe(`127.0.0.1:${gateway.port}`)
        expect(status.connections).toBeGreaterThanOrEqual(1)
        expect(status.configFile).toBe(gateway.configFile)
      })
    ))

  it.effect("the token from the token file is used when none is given", () =>
    withClient(
      (client) => Effect.map(client.connect, (info) => expect(info.name).toBe("openclaw-gateway")),
      (gateway) => ({ url: gateway.url, tokenFile: gateway.tokenFile })
    ))

  it.effect("a wrong token fails with TokenRejected", () =>
    withClient(
      (client) =>
        Effect.gen(function*() {
          const error = yield* Effect.flip(client.connect)
          expect(error).toBeInstanceOf(TokenRejected)
          if (!(error instanceof TokenRejected)) return
          expect(error.status).toBe(401)
          expect(error.reason).toBe("invalid bearer token")
          // Not only the first call: a later one reports the same.
          expect(yield* Effect.flip(client.status)).toBeInstanceOf(TokenRejected)
        }),
      (gateway) => ({ url: gateway.url, token: "not-the-token" })
    ))

  it.effect("an unreachable port fails with GatewayUnreachable", () =>
    Effect.gen(function*() {
      const port = yield* Effect.promise(unusedPort)
      const error = yield* Effect.flip(
        Effect.flatMap(GatewayClient, (client) => client.connect).pipe(
          Effect.provide(GatewayClient.layer({ url: `ws://127.0.0.1:${port}`, token: "x" }))
        )
      )
      expect(error).toBeInstanceOf(GatewayUnreachable)
      expect(error.message).toContain("openclaw gateway")
      if (error instanceof GatewayUnreachable) expect(error.reason).toBe("ECONNREFUSED")
    }))

  it.effect("a URL that is not ws:// fails the layer", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(
        Effect.flatMap(GatewayClient, (client) => client.connect).pipe(
          Effect.provide(GatewayClient.layer({ url: "http://127.0.0.1:1", token: "x" }))
        )
      )
      expect(error._tag).toBe("GatewayClientConfigError")
    }))

  it.scoped("sends the Bearer header on the upgrade and pings at keepAliveInterval", () =>
    Effect.gen(function*() {
      // A bare ws server standing in for the gateway: it records the upgrade's header and counts Pings.
      const seen = { authorization: "", pings: 0 }
      const server = yield* Effect.acquireRelease(
        Effect.async<WebSocketServer>((resume) => {
          const wss: WebSocketServer = new WebSocketServer(
            { port: 0, host: "127.0.0.1" },
            () => resume(Effect.succeed(wss))
          )
        }),
        (wss) => Effect.async<void>((resume) => wss.close(() => resume(Effect.void)))
      )
      server.on("connection", (ws, request) => {
        seen.authorization = request.headers.authorization ?? ""
        ws.on("message", (data) => {
          if (data.toString() !== JSON.stringify({ _tag: "Ping" })) return
          seen.pings++
          ws.send(JSON.stringify({ _tag: "Pong" }))
        })
      })
      const address = server.address()
      const port = typeof address === "object" && address !== null ? address.port : 0
      yield* Effect.gen(function*() {
        yield* GatewayClient
        yield* Effect.sleep("500 millis")
      }).pipe(
        Effect.provide(
          GatewayClient.layer({ url: `ws://127.0.0.1:${port}`, token: "tok", keepAliveInterval: "50 millis" })
        )
      )
      expect(seen.authorization).toBe("Bearer tok")
      expect(seen.pings).toBeGreaterThanOrEqual(4)
    }))
})
