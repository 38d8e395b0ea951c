/**
 * Events from a worker, validated cheaply: the hot path (every token crosses here) checks the JSON form against the
 * encoded-bound schema (every refinement and brand kept, no class built), with `Schema.is` compiled once into plain
 * predicates (`Domain/CompiledIs`), and then builds the outputs without validating again: plain objects, since their consumer numbers them
 * into event classes anyway (building the classes here too cost about 1.5 µs per event). A full `Schema.decode` of
 * the same batch constructs and re-validates every class: 85 µs for 20 TokenDeltas on this machine against 23 µs for `Schema.is`;
 * the compiled check of one RunCompleted takes a tenth of `Schema.is`'s.
 */
import { Schema } from "effect"
import { type AgentOutput, stamp } from "../Agents/AgentOutput.js"
import { AgentEvent, type AgentEventEncoded } from "../Domain/AgentEvent.js"
import { compiledIs } from "../Domain/CompiledIs.js"
import { RunId } from "../Domain/Ids.js"

const isEventBatch = compiledIs(Schema.Array(Schema.encodedBoundSchema(AgentEvent)))

/** The event classes for JSON that has been checked to be valid `AgentEvent`s (a subagent's own events, nested). */
const fromChecked = (event: AgentEventEncoded): AgentEvent =>
  stamp(outputOf(event), RunId.make(event.runId, true), event.seq, event.at)

/**
 * A checked event as the output its consumer numbers again (the supervisor stamps every output with its own `seq` and
 * `at`): a plain object of the event's own fields, not a class that would be built twice on the main thread. A
 * subagent's `event` stays a class, as the wire's encoding wants it inside the consumer's events.
 */
const outputOf = (event: AgentEventEncoded): AgentOutput => {
  switch (event._tag) {
    case "RunQueued":
      return { _tag: event._tag, position: event.position }
    case "RunStarted":
      return { _tag: event._tag, agent: event.agent, mode: event.mode, model: event.model }
    case "TokenDelta":
      return { _tag: event._tag, text: event.text }
    case "ToolCalled":
      return { _tag: event._tag, callId: event.callId, name: event.name, params: event.params }
    case "ToolResult":
      return { _tag: event._tag, callId: event.callId, name: event.name, isError: event.isError, result: event.result }
    case "CommandOutput":
      return { _tag: event._tag, stream: event.stream, text: event.text }
    case "CommandExited":
      return { _tag: event._tag, exitCode: event.exitCode }
    case "RunCompleted":
      return {
        _tag: event._tag,
        text: event.text,
        usage: { inputTokens: event.usage.inputTokens, outputTokens: event.usage.outputTokens },
        durationMs: event.durationMs
      }
    case "SubagentEvent":
      return {
        _tag: event._tag,
        childRunId: RunId.make(event.childRunId, true),
        depth: event.depth,
        event: fromChecked(event.event)
      }
  }
}

/** The batch's outputs, or none when `events` is not a valid batch (the caller then decodes fully to learn why). */
export const checkedEvents = (events: unknown): ReadonlyArray<AgentOutput> | undefined =>
  isEventBatch(events) ? events.map(outputOf) : undefined
