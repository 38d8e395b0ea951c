/**
 * The HTTP-mode client against an in-process gateway on loopback: the same events and typed errors as
 * the WebSocket client, refusals told apart, and a stream that stops cancelling its run.
 */
import { Chunk, Effect, Either, Fiber, Stream } from "effect"
import { describe, expect, it } from "vitest"
import { HttpRunClient, make } from "../src/Client/HttpRunClient.js"
import { RunId } from "../src/Domain/Ids.js"
import { unusedPort, useGateway } from "./support/TestGateway.js"

const gateway = useGateway({ acp: { allowedAgents: ["codex"] } })

const withClient = <A, E>(
  body: (client: HttpRunClient["Type"]) => Effect.Effect<A, E>,
  options: { readonly token?: string; readonly url?: string } = {}
) =>
  Effect.runPromise(Effect.scoped(Effect.flatMap(
    make({ url: options.url ?? gateway().url, token: options.token ?? gateway().token }),
    body
  )))

const activeRuns = () => Effect.runPromise(Effect.map(gateway().supervisor.snapshot, (snapshot) => snapshot.runs.length))

describe("HttpRunClient", () => {
  it("streams a run's events in order, gap-free, ending with RunCompleted; ws:// and http:// URLs alike", async () => {
    for (const url of [gateway().url, gateway().url.replace(/^ws:/, "http:")]) {
      const events = await withClient((client) =>
        Stream.runCollect(client.startRun({ prompt: "over http", mode: "inline" })), { url })
      const list = Chunk.toReadonlyArray(events)
      expect(list.map((event) => event.seq)).toEqual(list.map((_, index) => index))
      const last = list.at(-1)
      expect(last?._tag === "RunCompleted" && last.text.includes("over http")).toBe(true)
    }
  })

  it("fails with the run's typed error", async () => {
    const exit = await withClient((client) =>
      Effect.either(Stream.runDrain(client.startRun({ prompt: "x", agent: "subagent" }))))
    expect(Either.isLeft(exit) && exit.left._tag).toBe("AgentNotAllowed")
  })

  it("tells a refused token from an unreachable gateway", async () => {
    const refused = await withClient(
      (client) => Effect.either(Stream.runDrain(client.startRun({ prompt: "x" }))),
      { token: "wrong" }
    )
    expect(Either.isLeft(refused) && refused.left._tag).toBe("TokenRejected")
    const port = await unusedPort()
    const unreachable = await withClient(
      (client) => Effect.either(Stream.runDrain(client.startRun({ prompt: "x" }))),
      { url: `http://127.0.0.1:${port}` }
    )
    expect(Either.isLeft(unreachable) && unreachable.left._tag).toBe("GatewayUnreachable")
  })

  it("refuses a spec that is not a StartRun before sending it", async () => {
    const exit = await withClient((client) => Effect.either(Stream.runDrain(client.startRun({ timeoutMs: -1 }))))
    expect(Either.isLeft(exit) && exit.left._tag).toBe("InvalidRequest")
  })

  it("cancelRun stops a running run (its stream fails with RunCancelled); an unknown id is RunNotFound", async () => {
    await withClient((client) =>
      Effect.gen(function*() {
        const first = yield* Effect.makeLatch(false)
        let runId: RunId | undefined
        const streaming = yield* Effect.fork(Effect.either(Stream.runForEach(
          client.startRun({ command: "sleep 30", mode: "inline" }),
          (event) => Effect.zipRight(Effect.sync(() => (runId = event.runId)), first.open)
        )))
        yield* first.await
        if (runId === undefined) return yield* Effect.dieMessage("no event")
        yield* client.cancelRun(runId)
        const ended = yield* Fiber.join(streaming)
        expect(Either.isLeft(ended) && ended.left._tag === "RunCancelled" && ended.left.reason).toBe("client")
        const unknown = yield* Effect.either(client.cancelRun(RunId.make("no-such-run")))
        expect(Either.isLeft(unknown) && unknown.left._tag).toBe("RunNotFound")
      })
    )
  })

  it("a stream interrupted by its consumer cancels the run on the gateway", async () => {
    await withClient((client) =>
      Stream.runDrain(Stream.take(client.startRun({ command: "sleep 30", mode: "inline" }), 1))
    )
    let left = await activeRuns()
    for (let i = 0; i < 200 && left > 0; i++) {
      await new Promise((resolve) => setTimeout(resolve, 25))
      left = await activeRuns()
    }
    expect(left).toBe(0)
  })
})
