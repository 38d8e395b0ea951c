/**
 * An event's JSON is its wire encoding: the WebSocket and SSE send the events the supervisor builds without
 * `Schema.encode` (`Gateway/StartRunStream`, `Gateway/HttpRuns`), which holds only while every field of every
 * `AgentEvent` encodes to itself.
 */
import { describe, expect, it } from "@effect/vitest"
import { Arbitrary, Schema } from "effect"
import { type AgentOutput, stamp } from "../src/Agents/AgentOutput.js"
import { AgentEvent } from "../src/Domain/AgentEvent.js"
import { RunId } from "../src/Domain/Ids.js"

const encode = Schema.encodeSync(AgentEvent)

describe("AgentEvent's JSON", () => {
  it.prop(
    "is the JSON of its encoding, for every event type",
    { event: Arbitrary.make(AgentEvent) },
    ({ event }) => {
      expect(JSON.stringify(event)).toBe(JSON.stringify(encode(event)))
    },
    { fastCheck: { numRuns: 1_000 } }
  )

  it("is the JSON of its encoding for the events the supervisor stamps", () => {
    const runId = RunId.make("r1")
    const outputs: ReadonlyArray<AgentOutput> = [
      { _tag: "RunStarted", agent: "codex", mode: "inline", model: "mock/mock-1" },
      { _tag: "TokenDelta", text: "héllo" },
      { _tag: "ToolCalled", callId: "c1", name: "shell", params: { command: "ls" } },
      { _tag: "ToolResult", callId: "c1", name: "shell", isError: false, result: { exitCode: 0 } },
      { _tag: "RunCompleted", text: "done", usage: { inputTokens: 1, outputTokens: 2 }, durationMs: 3 }
    ]
    const events = outputs.map((output, seq) => stamp(output, runId, seq, 1_000 + seq))
    for (const event of events) expect(JSON.parse(JSON.stringify(event))).toStrictEqual(encode(event))
    expect(JSON.parse(JSON.stringify(events[4]))).toStrictEqual({
      _tag: "RunCompleted",
      runId: "r1",
      seq: 4,
      at: 1_004,
      text: "done",
      usage: { inputTokens: 1, outputTokens: 2 },
      durationMs: 3
    })
  })
})
