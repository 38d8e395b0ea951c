/**
 * The gateway's log: entries as the logger builds them (level, trace/span ids, run id, cause), the JSON-lines
 * format, the bounded ring, and `tail` with its filters and `follow` (new entries, gaps when the ring overflows).
 */
import { Cause, Chunk, Effect, Fiber, Layer, Schema, Stream } from "effect"
import { describe, expect, it } from "vitest"
import { GatewayConfig } from "../src/Config/GatewayConfig.js"
import { LogEntry, TailLogsRequest } from "../src/Domain/LogEntry.js"
import * as GatewayLogger from "../src/Telemetry/GatewayLogger.js"
import * as LogRing from "../src/Telemetry/LogRing.js"

/** A ring of `capacity` and a logger writing into it and into `lines`, at `level`. */
const setup = (capacity: number, level: "debug" | "info" = "info") => {
  const ring = LogRing.make(capacity)
  const lines: Array<string> = []
  const layer = GatewayLogger.layer((line) => void lines.push(line)).pipe(
    Layer.provide(Layer.succeed(LogRing.LogRing, ring)),
    Layer.provide(GatewayConfig.layerTest({ logging: { level, format: "json", ringSize: capacity } }))
  )
  const run = <A, E>(effect: Effect.Effect<A, E>) => Effect.runPromise(Effect.provide(effect, layer))
  return { ring, lines, run }
}

const collect = (stream: Stream.Stream<LogEntry>) =>
  Effect.runPromise(Effect.map(Stream.runCollect(stream), Chunk.toReadonlyArray))

const request = (fields: ConstructorParameters<typeof TailLogsRequest>[0] = {}) => new TailLogsRequest(fields)

describe("GatewayLogger", () => {
  it("writes one JSON line per entry with level, time, fiber, trace and span ids and the run id", async () => {
    const { lines, run } = setup(100)
    await run(
      Effect.logWarning("disk nearly full").pipe(
        Effect.annotateLogs({ runId: "run-1", agent: "codex" }),
        Effect.withSpan("checking")
      )
    )
    expect(lines).toHaveLength(1)
    const entry = Schema.decodeUnknownSync(Schema.parseJson(LogEntry))(lines[0])
    expect(entry).toMatchObject({ seq: 0, level: "warning", message: "disk nearly full", runId: "run-1" })
    expect(entry.annotations).toEqual({ agent: "codex" })
    expect(entry.traceId).toMatch(/\S/)
    expect(entry.spanId).toMatch(/\S/)
    expect(entry.fiber).toMatch(/^#\d+$/)
    expect(lines[0]?.endsWith("}\n")).toBe(true)
  })

  it("renders a failure's cause, and leaves out entries below logging.level", async () => {
    const { ring, run } = setup(100)
    await run(Effect.zipRight(Effect.logDebug("not kept"), Effect.logError("boom", Cause.die(new Error("kaput")))))
    const entries = await collect(ring.tail(request({ level: "trace" })))
    expect(entries.map((entry) => entry.message)).toEqual(["boom"])
    expect(entries[0]?.cause).toContain("kaput")
  })

  it("format auto: pretty on a terminal, JSON lines for anything else; explicit formats stay", () => {
    expect(GatewayLogger.formatOf("auto", true)).toBe("pretty")
    expect(GatewayLogger.formatOf("auto", false)).toBe("json")
    expect(GatewayLogger.formatOf("json", true)).toBe("json")
    expect(GatewayLogger.formatOf("pretty", false)).toBe("pretty")
  })

  it("the pretty line carries time, level, message, annotations and run", () => {
    const line = GatewayLogger.prettyLine(
      new LogEntry({ seq: 3, at: Date.UTC(2026, 0, 2, 3, 4, 5, 6), level: "info", message: "hi", fiber: "#1",
        runId: "r", annotations: { k: "v" } })
    )
    expect(line).toBe("03:04:05.006 INFO    hi k=v run=r\n")
  })
})

describe("LogRing", () => {
  it("keeps the newest entries only, and tail filters by level, time, run and count", async () => {
    const { ring, run } = setup(100, "debug")
    await run(Effect.forEach(Array.from({ length: 150 }, (_, i) => i), (i) =>
      (i % 2 === 0 ? Effect.logDebug(`entry ${i}`) : Effect.logInfo(`entry ${i}`)).pipe(
        Effect.annotateLogs({ runId: i % 10 === 0 ? "tens" : "other" })
      )))
    const all = await collect(ring.tail(request({ level: "trace" })))
    expect(all).toHaveLength(100)
    expect(all[0]?.seq).toBe(50)
    expect(all.at(-1)?.seq).toBe(149)
    const infos = await collect(ring.tail(request()))
    expect(infos.every((entry) => entry.level === "info")).toBe(true)
    expect(infos).toHaveLength(50)
    const tens = await collect(ring.tail(request({ level: "trace", runId: "tens" })))
    expect(tens.map((entry) => entry.message)).toEqual([5, 6, 7, 8, 9, 10, 11, 12, 13, 14].map((i) => `entry ${i * 10}`))
    const lastThree = await collect(ring.tail(request({ level: "trace", limit: 3 })))
    expect(lastThree.map((entry) => entry.seq)).toEqual([147, 148, 149])
    const since = all[60]?.at ?? 0
    const recent = await collect(ring.tail(request({ level: "trace", since })))
    expect(recent.every((entry) => entry.at >= since)).toBe(true)
  })

  it("follow streams new entries as they are written; entries the ring dropped meanwhile show as a seq gap", async () => {
    const { ring, run } = setup(100)
    await run(Effect.logInfo("before"))
    const followed: Array<LogEntry> = []
    const fiber = Effect.runFork(
      Stream.runForEach(ring.tail(request({ follow: true })), (entry) => Effect.sync(() => void followed.push(entry)))
    )
    const waitFor = async (count: number) => {
      for (let i = 0; i < 200 && followed.length < count; i++) await new Promise((resolve) => setTimeout(resolve, 5))
    }
    await waitFor(1)
    await run(Effect.logInfo("after"))
    await waitFor(2)
    expect(followed.map((entry) => entry.message)).toEqual(["before", "after"])
    // 250 entries written in one go, the follower not running meanwhile: only the newest 100 are left to read.
    await run(Effect.forEach(Array.from({ length: 250 }, (_, i) => i), (i) => Effect.logInfo(`burst ${i}`)))
    await waitFor(102)
    const burst = followed.slice(2)
    expect(burst.map((entry) => entry.message)).toEqual(Array.from({ length: 100 }, (_, i) => `burst ${150 + i}`))
    expect((burst[0]?.seq ?? 0) - (followed[1]?.seq ?? 0)).toBe(151)
    await Effect.runPromise(Fiber.interrupt(fiber))
  })
})
