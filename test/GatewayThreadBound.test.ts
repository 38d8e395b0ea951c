/**
 * Thread-bound runs through the whole gateway (in-process, real worker threads, the typed client over
 * loopback): cancel, disconnect and timeout stop the run and leave no busy or leaked thread (checked
 * through `Status`), and per-principal quotas refuse with a typed error.
 */
import { layer } from "@effect/vitest"
import { Chunk, Context, Effect, Either, Fiber, Layer, Stream } from "effect"
import { expect } from "vitest"
import { GatewayClient } from "../src/Client/GatewayClient.js"
import { RunId } from "../src/Domain/Ids.js"
import type { GatewayStatus } from "../src/Domain/ServerInfo.js"
import { startInProcessGateway, type TestGateway } from "./support/TestGateway.js"

class Gateway extends Context.Tag("test/ThreadBoundGateway")<Gateway, TestGateway>() {}

const longReply = Array.from({ length: 400 }, (_, i) => `w${i}`).join(" ")

const GatewayLayer = Layer.scoped(
  Gateway,
  startInProcessGateway({
    agents: { threadPool: { minThreads: 1, maxThreads: 2 } },
    quotas: { maxConcurrentRuns: 2 },
    models: { providers: { mock: { tokenDelayMs: 10, reply: longReply } } }
  })
)

const withClient = <A, E, R>(body: (client: Context.Tag.Service<typeof GatewayClient>) => Effect.Effect<A, E, R>) =>
  Effect.gen(function*() {
    const gateway = yield* Gateway
    return yield* Effect.flatMap(GatewayClient, body).pipe(
      Effect.provide(GatewayClient.layer({ url: gateway.url, token: gateway.token }))
    )
  })

/** Polls `Status` until `predicate` holds (bounded), returning the last status. */
const statusUntil = (
  client: Context.Tag.Service<typeof GatewayClient>,
  predicate: (status: GatewayStatus) => boolean
) =>
  Effect.gen(function*() {
    for (let attempt = 0; attempt < 200; attempt++) {
      const status = yield* client.status
      if (predicate(status)) return status
      yield* Effect.sleep("20 millis")
    }
    return yield* Effect.dieMessage(`gateway never reached the expected state: ${JSON.stringify(yield* client.status)}`)
  })

const settled = (status: GatewayStatus) =>
  status.runs.length === 0 &&
  status.pool.threads.every((thread) => thread.status === "idle") &&
  status.pool.threads.length >= status.pool.minThreads

layer(GatewayLayer, { excludeTestServices: true })("thread-bound runs through the gateway", (it) => {
  it.effect("a thread-bound run completes on a worker thread; the thread is returned clean", () =>
    withClient((client) =>
      Effect.gen(function*() {
        const terminated = (yield* client.status).pool.terminations
        // A command-only run: the codex agent runs it on its thread and completes without the model.
        const events = Chunk.toReadonlyArray(yield* Stream.runCollect(client.startRun({ command: "echo from-a-thread" })))
        expect(events.some((event) => event._tag === "RunStarted" && event.mode === "thread-bound")).toBe(true)
        expect(events.some((event) => event._tag === "CommandOutput" && event.text === "from-a-thread\n")).toBe(true)
        expect(events.at(-1)?._tag).toBe("RunCompleted")
        const status = yield* statusUntil(client, settled)
        expect(status.pool.terminations).toEqual(terminated)
      })
    ))

  it.effect("CancelRun stops it: RunCancelled, its thread is terminated and replaced, nothing leaks", () =>
    withClient((client) =>
      Effect.gen(function*() {
        const before = (yield* client.status).pool.terminations["cancelled"] ?? 0
        const stream = client.startRun({ prompt: "long" })
        const first = yield* Effect.fork(Stream.runCollect(stream).pipe(Effect.either))
        const running = yield* statusUntil(client, (status) => status.runs.some((run) => run.state === "running"))
        const runId = running.runs[0]?.runId
        if (runId === undefined) return yield* Effect.dieMessage("no run")
        yield* client.cancelRun(RunId.make(runId))
        const result = yield* Fiber.join(first)
        expect(Either.isLeft(result) && result.left._tag).toBe("RunCancelled")
        const after = yield* statusUntil(client, settled)
        expect(after.pool.terminations["cancelled"]).toBe(before + 1)
      })
    ))

  it.effect("a client that goes away stops its run; the thread is terminated and replaced", () =>
    withClient((client) =>
      Effect.gen(function*() {
        const before = (yield* client.status).pool.terminations["cancelled"] ?? 0
        const fiber = yield* Effect.fork(Stream.runDrain(client.startRun({ prompt: "long" })))
        yield* statusUntil(client, (status) => status.runs.some((run) => run.state === "running"))
        yield* Fiber.interrupt(fiber)
        const after = yield* statusUntil(client, settled)
        expect(after.pool.terminations["cancelled"]).toBe(before + 1)
      })
    ))

  it.effect("a run over its timeout fails with RunTimedOut and its thread is replaced", () =>
    withClient((client) =>
      Effect.gen(function*() {
        const result = yield* Stream.runDrain(client.startRun({ prompt: "long", timeoutMs: 300 })).pipe(Effect.either)
        expect(Either.isLeft(result) && result.left._tag).toBe("RunTimedOut")
        yield* statusUntil(client, settled)
      })
    ))

  it.effect("runs past the principal's concurrency quota are refused with QuotaExceeded and a retry time", () =>
    withClient((client) =>
      Effect.gen(function*() {
        const holders = yield* Effect.forEach([1, 2], () => Effect.fork(Stream.runDrain(client.startRun({ prompt: "long" }))))
        yield* statusUntil(client, (status) => status.runs.length === 2)
        const refused = yield* Stream.runDrain(client.startRun({ prompt: "third" })).pipe(Effect.either)
        expect(Either.isLeft(refused) && refused.left._tag).toBe("QuotaExceeded")
        expect(Either.isLeft(refused) && refused.left._tag === "QuotaExceeded" && refused.left.retryAfterMs)
          .toBeGreaterThan(0)
        yield* Effect.forEach(holders, Fiber.interrupt)
        yield* statusUntil(client, settled)
        // The slots came back: a new run is admitted.
        const events = yield* Stream.runCollect(client.startRun({ prompt: "again" }).pipe(Stream.take(1)))
        expect(Chunk.size(events)).toBe(1)
      })
    ))
})
