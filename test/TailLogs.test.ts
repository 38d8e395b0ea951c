/**
 * `TailLogs` over a real WebSocket: the admin scope is required, past entries come filtered, and `follow`
 * delivers the entries of a run as it happens, until the client stops.
 */
import { Chunk, Effect, Either, Fiber, Stream } from "effect"
import { describe, expect, it } from "vitest"
import { GatewayClient } from "../src/Client/GatewayClient.js"
import type { LogEntry } from "../src/Domain/LogEntry.js"
import { useGateway } from "./support/TestGateway.js"

const tokens = { admin: "admin-token-0123456789", writer: "writer-token-0123456789" }

const gateway = useGateway({
  gateway: {
    auth: {
      tokens: [
        { name: "ops", token: tokens.admin, scopes: ["admin"] },
        { name: "app", token: tokens.writer, scopes: ["runs:write", "runs:read"] }
      ]
    }
  },
  logging: { level: "debug" }
})

const withClient = <A, E>(token: string, body: (client: GatewayClient["Type"]) => Effect.Effect<A, E>) =>
  Effect.runPromise(
    Effect.flatMap(GatewayClient, body).pipe(Effect.provide(GatewayClient.layer({ url: gateway().url, token })))
  )

describe("TailLogs", () => {
  it("needs the admin scope", async () => {
    const refused = await withClient(tokens.writer, (client) => Effect.either(Stream.runDrain(client.tailLogs({}))))
    expect(Either.isLeft(refused) && refused.left._tag === "Forbidden" && refused.left.scope).toBe("admin")
  })

  it("returns the recent entries at or above the level asked for", async () => {
    const entries = await withClient(tokens.admin, (client) =>
      Effect.map(Stream.runCollect(client.tailLogs({ level: "info" })), Chunk.toReadonlyArray))
    expect(entries.some((entry) => entry.message.includes("listening on"))).toBe(true)
    expect(entries.every((entry) => entry.level !== "debug" && entry.level !== "trace")).toBe(true)
    expect(entries.map((entry) => entry.seq)).toEqual([...entries.map((entry) => entry.seq)].sort((a, b) => a - b))
  })

  it("follows a run's entries as it happens, filtered by its id", async () => {
    const seen = await withClient(tokens.admin, (client) =>
      Effect.gen(function*() {
        const followed: Array<LogEntry> = []
        const following = yield* Effect.fork(Stream.runForEach(
          client.tailLogs({ level: "debug", follow: true }),
          (entry) => Effect.sync(() => void followed.push(entry))
        ))
        const events = yield* Stream.runCollect(client.startRun({ prompt: "log me", mode: "inline" }))
        const runId = Chunk.unsafeHead(events).runId
        for (let i = 0; i < 200 && !followed.some((e) => e.runId === runId && e.message === "run completed"); i++) {
          yield* Effect.sleep("10 millis")
        }
        yield* Fiber.interrupt(following)
        const only = yield* Stream.runCollect(client.tailLogs({ level: "debug", runId }))
        return { followed: followed.filter((entry) => entry.runId === runId), only: Chunk.toReadonlyArray(only) }
      }))
    expect(seen.followed.map((entry) => entry.message)).toEqual(["run started", "run completed"])
    expect(seen.only.map((entry) => entry.message)).toEqual(["run started", "run completed"])
    expect(seen.only.every((entry) => entry.annotations["principal"] === "ops")).toBe(true)
  })
})
