/**
 * TLS: with `gateway.tls` the gateway serves wss:// and https:// on the same port; clients verify its
 * certificate by default (a client that does not trust it is refused by its own TLS stack), and plain ws://
 * gets nowhere.
 */
import { describe, expect, it } from "@effect/vitest"
import { Chunk, Effect, Either, Stream } from "effect"
import * as fs from "node:fs"
import * as https from "node:https"
import { fileURLToPath } from "node:url"
import WebSocket from "ws"
import { GatewayClient } from "../src/Client/GatewayClient.js"
import { startInProcessGateway } from "./support/TestGateway.js"

const fixture = (name: string) => fileURLToPath(new URL(`./fixtures/tls/${name}`, import.meta.url))
const ca = fs.readFileSync(fixture("cert.pem"))

const healthz = (port: number, trust: Buffer | undefined) =>
  Effect.async<number, Error>((resume) => {
    const request = https.get({ host: "127.0.0.1", port, path: "/healthz", ...(trust === undefined ? {} : { ca: trust }) }, (
      response
    ) => {
      response.resume()
      resume(Effect.succeed(response.statusCode ?? 0))
    })
    request.once("error", (error) => resume(Effect.fail(error)))
  })

describe("TLS", () => {
  it.live("serves wss:// and https://, verified against the gateway's certificate", () =>
    Effect.gen(function*() {
      const gateway = yield* startInProcessGateway({ gateway: { tls: { cert: fixture("cert.pem"), key: fixture("key.pem") } } })
      const url = `wss://127.0.0.1:${gateway.port}`
      expect(yield* healthz(gateway.port, ca)).toBe(200)
      // Without trusting the certificate, the client's TLS stack refuses the connection.
      expect(Either.isLeft(yield* Effect.either(healthz(gateway.port, undefined)))).toBe(true)

      const events = yield* Effect.flatMap(GatewayClient, (client) =>
        Stream.runCollect(client.startRun({ prompt: "over tls", mode: "inline" }))).pipe(
          Effect.provide(GatewayClient.layer({ url, token: gateway.token, ca }))
        )
      expect(Chunk.last(events).pipe((last) => last._tag === "Some" && last.value._tag)).toBe("RunCompleted")

      const untrusted = yield* Effect.flatMap(GatewayClient, (client) => client.connect).pipe(
        Effect.provide(GatewayClient.layer({ url, token: gateway.token, openTimeout: "3 seconds" })),
        Effect.either
      )
      expect(Either.isLeft(untrusted)).toBe(true)

      // Plain ws:// to a TLS port does not get a WebSocket.
      const plain = yield* Effect.async<string>((resume) => {
        const ws = new WebSocket(`ws://127.0.0.1:${gateway.port}/`, { headers: { authorization: `Bearer ${gateway.token}` } })
        ws.once("open", () => {
          ws.close()
          resume(Effect.succeed("open"))
        })
        ws.once("error", () => resume(Effect.succeed("refused")))
      })
      expect(plain).toBe("refused")
    }).pipe(Effect.scoped))

  it.live("a missing certificate file refuses to start with a clear error", () =>
    Effect.gen(function*() {
      const started = yield* Effect.either(
        startInProcessGateway({ gateway: { tls: { cert: "/nonexistent/cert.pem", key: fixture("key.pem") } } })
      )
      expect(Either.isLeft(started) && started.left.message).toMatch(/cannot read gateway.tls/)
    }).pipe(Effect.scoped))
})
