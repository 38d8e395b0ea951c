/**
 * The pool's cheap wire paths agree with full Schema encoding and decoding: event batches and completions in, Run
 * messages out.
 */
import { describe, expect, it } from "@effect/vitest"
import { Arbitrary, FastCheck, Schema, SchemaAST } from "effect"
import { type AgentOutput, stamp } from "../src/Agents/AgentOutput.js"
import { AgentEvent } from "../src/Domain/AgentEvent.js"
import { RunId } from "../src/Domain/Ids.js"
import { StartRun } from "../src/Domain/RunSpec.js"
import { compileIs } from "../src/Domain/CompiledIs.js"
import { checkedEvents } from "../src/Pool/WorkerEvents.js"
import { FromWorker, ToWorker } from "../src/Pool/WorkerProtocol.js"
import { checkedBatch, encodeRun } from "../src/Pool/WorkerThread.js"

const batch = [
  { _tag: "RunStarted", runId: "r1", seq: 0, at: 1, agent: "codex", mode: "thread-bound", model: "mock/mock-1" },
  { _tag: "TokenDelta", runId: "r1", seq: 1, at: 2, text: "héllo " },
  { _tag: "ToolCalled", runId: "r1", seq: 2, at: 3, callId: "c1", name: "shell", params: { command: "ls" } },
  {
    _tag: "SubagentEvent",
    runId: "r1",
    seq: 3,
    at: 4,
    childRunId: "c-1",
    depth: 1,
    event: { _tag: "TokenDelta", runId: "c-1", seq: 0, at: 4, text: "child" }
  },
  {
    _tag: "RunCompleted",
    runId: "r1",
    seq: 4,
    at: 5,
    text: "héllo ",
    usage: { inputTokens: 1, outputTokens: 2 },
    durationMs: 4
  }
]

/** Outputs numbered again as the events they came from (what their consumer, the supervisor, does). */
const restamp = (outputs: ReadonlyArray<AgentOutput>, like: ReadonlyArray<AgentEvent>): ReadonlyArray<AgentEvent> =>
  outputs.flatMap((output, index) => {
    const event = like[index]
    return event === undefined ? [] : [stamp(output, event.runId, event.seq, event.at)]
  })

describe("checkedEvents", () => {
  it("builds the outputs of the events a full decode builds: plain objects, nested events as classes", () => {
    const checked = checkedEvents(batch) ?? []
    const decoded = Schema.decodeUnknownSync(Schema.Array(AgentEvent))(batch)
    // Not the event classes: their consumer numbers them into events again, and building them twice cost per event.
    expect(checked.map((output) => output.constructor)).toEqual(checked.map(() => Object))
    expect(checked.some((output) => "runId" in output || "seq" in output || "at" in output)).toBe(false)
    const stamped = restamp(checked, decoded)
    expect(stamped).toEqual(decoded)
    const nested = checked[3]
    expect(nested?._tag === "SubagentEvent" && nested.event.constructor).toBe(decoded[3]?._tag === "SubagentEvent"
      ? decoded[3].event.constructor
      : undefined)
    const completed = checked[4]
    // A copy of the checked fields, as a decode makes one (an extra property the worker sent is not carried along).
    expect(completed?._tag === "RunCompleted" && completed.usage).toStrictEqual({ inputTokens: 1, outputTokens: 2 })
    // The wire encoding works on the events its consumer builds from them (the RPC server encodes every event).
    expect(Schema.encodeSync(Schema.Array(AgentEvent))(stamped)).toEqual(batch)
  })

  it("the structured clone of decoded events (what a worker posts) is their full encoding", () => {
    const events = Schema.decodeUnknownSync(Schema.Array(AgentEvent))(batch)
    expect(structuredClone(events)).toEqual(Schema.encodeSync(Schema.Array(AgentEvent))(events))
    expect(structuredClone(events)).toEqual(batch)
  })

  it("refuses batches a full decode refuses: wrong shapes, refinements and brands", () => {
    const bad: ReadonlyArray<unknown> = [
      [{ _tag: "TokenDelta", runId: "r1", seq: -1, at: 0, text: "x" }],
      [{ _tag: "TokenDelta", runId: "", seq: 0, at: 0, text: "x" }],
      [{ _tag: "TokenDelta", runId: "r1", seq: 0, at: 0 }],
      [{ _tag: "Nope", runId: "r1", seq: 0, at: 0 }],
      [{ ...batch[3], depth: 0 }],
      "not a batch"
    ]
    for (const events of bad) {
      expect(checkedEvents(events)).toBeUndefined()
      expect(Schema.decodeUnknownEither(Schema.Array(AgentEvent))(events)._tag).toBe("Left")
    }
  })
})

describe("compileIs", () => {
  it.prop(
    "agrees with Schema.is on tuples: pairs, pairs with a rest, arrays of pairs (a WebSocket frame's headers)",
    { input: FastCheck.oneof(FastCheck.jsonValue({ maxDepth: 3 }), FastCheck.array(FastCheck.jsonValue({ maxDepth: 1 }))) },
    ({ input }) => {
      const agrees = <A, I>(schema: Schema.Schema<A, I>) =>
        expect(compileIs(SchemaAST.typeAST(schema.ast))(input)).toBe(Schema.is(schema)(input))
      const pair = Schema.Tuple(Schema.String.pipe(Schema.minLength(1)), Schema.Number)
      agrees(pair)
      agrees(Schema.Tuple([Schema.String], Schema.Number))
      agrees(Schema.Array(pair))
    },
    { fastCheck: { numRuns: 1_000 } }
  )

  const schema = Schema.Array(Schema.encodedBoundSchema(AgentEvent))
  const compiled = compileIs(SchemaAST.typeAST(schema.ast))
  const reference = Schema.is(schema)

  /** `value` with one thing broken, somewhere along its nested `event`s: a field replaced or removed, or all of it. */
  const corrupt = (value: unknown, depth: number, key: number, replacement: unknown, remove: boolean): unknown => {
    if (typeof value !== "object" || value === null || Array.isArray(value)) return replacement
    const entries = Object.entries(value)
    if (depth > 0 && "event" in value) {
      return { ...value, event: corrupt(value.event, depth - 1, key, replacement, remove) }
    }
    const [name] = entries[key % (entries.length + 1)] ?? ["_tag"]
    if (remove) return Object.fromEntries(entries.filter(([field]) => field !== name))
    return { ...value, [name]: replacement }
  }

  const corrupted = FastCheck.tuple(
    Arbitrary.make(Schema.encodedBoundSchema(AgentEvent)),
    FastCheck.nat(3),
    FastCheck.nat(20),
    FastCheck.oneof(
      FastCheck.anything(),
      FastCheck.constantFrom(-1, 0.5, "", "x".repeat(65), Number.NaN, null, undefined, [], {})
    ),
    FastCheck.boolean()
  ).map(([event, depth, key, replacement, remove]) => corrupt(event, depth, key, replacement, remove))

  it.prop(
    "agrees with Schema.is on valid batches, corrupted ones and anything else",
    {
      batch: FastCheck.array(
        FastCheck.oneof(Arbitrary.make(Schema.encodedBoundSchema(AgentEvent)), corrupted, FastCheck.anything()),
        { maxLength: 4 }
      )
    },
    ({ batch }) => {
      expect(compiled(batch)).toBe(reference(batch))
      for (const event of batch) expect(compiled([event])).toBe(reference([event]))
    },
    { fastCheck: { numRuns: 500 } }
  )

  it("treats a hole in a batch as undefined, as the parser does", () => {
    const holey: Array<unknown> = [batch[1]]
    holey[2] = batch[1]
    expect(reference(holey)).toBe(false)
    expect(compiled(holey)).toBe(false)
  })
})

describe("checkedBatch", () => {
  it("builds what a full decode builds for Events and Completed, as outputs, extra properties dropped", () => {
    for (const raw of [
      { _tag: "Events", runId: "r1", events: batch },
      { _tag: "Completed", runId: "r1", events: batch.slice(4) },
      { _tag: "Completed", runId: "r1", events: [{ ...batch[1], extra: "dropped" }], extra: "dropped" }
    ]) {
      const checked = checkedBatch(raw)
      const decoded = Schema.decodeUnknownSync(FromWorker)(raw)
      if (checked === undefined || (decoded._tag !== "Events" && decoded._tag !== "Completed")) {
        return expect.fail(`${raw._tag} was not taken as a batch`)
      }
      expect({ ...checked, events: restamp(checked.events, decoded.events) }).toEqual(decoded)
      expect("extra" in checked || checked.events.some((output) => "extra" in output)).toBe(false)
    }
  })

  it("leaves to the full decode every other message, and refuses what it refuses", () => {
    expect(checkedBatch({ _tag: "Failed", runId: "r1", error: {} })).toBeUndefined()
    expect(checkedBatch({ _tag: "Ready" })).toBeUndefined()
    const bad: ReadonlyArray<unknown> = [
      { _tag: "Completed", runId: "r1" },
      { _tag: "Completed", runId: "", events: [] },
      { _tag: "Completed", runId: "x".repeat(65), events: [] },
      { _tag: "Completed", runId: 1, events: [] },
      { _tag: "Completed", runId: "r1", events: [{ ...batch[4], seq: -1 }] },
      { _tag: "Events", runId: "r1", events: "not a batch" },
      null,
      "Completed"
    ]
    for (const raw of bad) {
      expect(checkedBatch(raw)).toBeUndefined()
      expect(Schema.decodeUnknownEither(FromWorker)(raw)._tag).toBe("Left")
    }
  })
})

describe("encodeRun", () => {
  it("gives exactly what Schema.encode gives for a Run message, for full and minimal specs", () => {
    const encode = Schema.encodeSync(ToWorker)
    const specs = [
      new StartRun({ prompt: "hi" }),
      new StartRun({
        agent: "codex",
        mode: "inline",
        prompt: "p",
        command: "ls",
        timeoutMs: 1000,
        model: "mock/mock-1"
      })
    ]
    for (const spec of specs) {
      const message = { _tag: "Run", runId: RunId.make("r1"), agent: "codex", spec, model: "mock/mock-1", depth: 0 } as const
      expect(encodeRun(message)).toEqual(encode(message))
      expect(Schema.decodeUnknownSync(ToWorker)(encodeRun(message))).toEqual(message)
    }
  })
})
