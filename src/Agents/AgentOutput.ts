/** What an agent emits before the supervisor numbers it: an `AgentEvent` without `runId`, `seq` and `at`. */
import {
  type AgentEvent,
  CommandExited,
  CommandOutput,
  RunCompleted,
  RunQueued,
  RunStarted,
  SubagentEvent,
  TokenDelta,
  ToolCalled,
  ToolResult
} from "../Domain/AgentEvent.js"
import type { RunId } from "../Domain/Ids.js"

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never

export type AgentOutput = DistributiveOmit<AgentEvent, "runId" | "seq" | "at">

/** One output of a given tag, e.g. `AgentOutputOf<"TokenDelta">`. */
export type AgentOutputOf<Tag extends AgentOutput["_tag"]> = Extract<AgentOutput, { readonly _tag: Tag }>

/**
 * Numbers an output into the event the client sees. This runs once per token, so it skips validation: the agent
 * built the body from typed values and the supervisor chose `runId`, `seq` and `at`.
 */
export const stamp = (output: AgentOutput, runId: RunId, seq: number, at: number): AgentEvent => {
  switch (output._tag) {
    case "TokenDelta":
      return new TokenDelta({ runId, seq, at, text: output.text }, true)
    case "RunQueued":
      return new RunQueued({ runId, seq, at, position: output.position }, true)
    case "RunStarted":
      return new RunStarted({ runId, seq, at, agent: output.agent, mode: output.mode, model: output.model }, true)
    case "ToolCalled":
      return new ToolCalled({ runId, seq, at, callId: output.callId, name: output.name, params: output.params }, true)
    case "ToolResult":
      return new ToolResult({
        runId,
        seq,
        at,
        callId: output.callId,
        name: output.name,
        isError: output.isError,
        result: output.result
      }, true)
    case "CommandOutput":
      return new CommandOutput({ runId, seq, at, stream: output.stream, text: output.text }, true)
    case "CommandExited":
      return new CommandExited({ runId, seq, at, exitCode: output.exitCode }, true)
    case "RunCompleted":
      return new RunCompleted(
        { runId, seq, at, text: output.text, usage: output.usage, durationMs: output.durationMs },
        true
      )
    case "SubagentEvent":
      return new SubagentEvent(
        { runId, seq, at, childRunId: output.childRunId, depth: output.depth, event: output.event },
        true
      )
  }
}
