/** The cheap check of worker event batches agrees with a full Schema decode, and refuses what it refuses. */
import { describe, expect, it } from "@effect/vitest"
import { Schema } from "effect"
import { AgentEvent } from "../src/Domain/AgentEvent.js"
import { checkedEvents } from "../src/Pool/WorkerEvents.js"

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

describe("checkedEvents", () => {
  it("builds the same events as a full decode, classes included", () => {
    const checked = checkedEvents(batch)
    const decoded = Schema.decodeUnknownSync(Schema.Array(AgentEvent))(batch)
    expect(checked).toEqual(decoded)
    expect(checked?.map((event) => event.constructor)).toEqual(decoded.map((event) => event.constructor))
    const nested = checked?.[3]
    expect(nested?._tag === "SubagentEvent" && nested.event.constructor).toBe(decoded[3]?._tag === "SubagentEvent"
      ? decoded[3].event.constructor
      : undefined)
    // The wire encoding works on what it built (the RPC server encodes every event it sends).
    expect(Schema.encodeSync(Schema.Array(AgentEvent))(checked ?? [])).toEqual(batch)
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
