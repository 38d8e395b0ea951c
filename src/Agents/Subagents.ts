/**
 * How a run starts a child `subagent` run (the `spawn_subagent` tool). Inline runs start it on the main thread's
 * fibers, thread-bound runs through the pool; either way the caller gets the child's own numbered events.
 */
import { Context, type Stream } from "effect"
import type { AgentEvent } from "../Domain/AgentEvent.js"
import type { RunId } from "../Domain/Ids.js"
import type { RunError } from "../Domain/RunError.js"
import type { ResolvedModel } from "../Llm/ProviderRegistry.js"

export interface SpawnRequest {
  readonly parentRunId: RunId
  /** The child's depth: 1 for a child of a client's run (depth 0); the tool enforces `agents.maxSubagentDepth`. */
  readonly depth: number
  readonly prompt: string
  /** The parent's model, which the child uses too (a thread pool sends `model.id`, as for any job). */
  readonly model: ResolvedModel
}

export interface SubagentsService {
  /**
   * The child run's events, numbered from 0 under its own `runId` and ending after its `RunCompleted`; fails with the
   * child's `RunError`. Interrupting the stream stops the child.
   */
  readonly spawn: (request: SpawnRequest) => Stream.Stream<AgentEvent, RunError>
}

export class Subagents extends Context.Tag("openclaw/Subagents")<Subagents, SubagentsService>() {}
