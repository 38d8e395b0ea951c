/** The contract every agent loop implements, and the agents the gateway knows by name. */
import type { Context, Effect, Option } from "effect"
import type { KnownAgent } from "../Config/ConfigSchema.js"
import type { RunId } from "../Domain/Ids.js"
import type { InvalidRequest, RunError } from "../Domain/RunError.js"
import type { StartRun } from "../Domain/RunSpec.js"
import type { ResolvedModel } from "../Llm/ProviderRegistry.js"
import type { EmitOutputs } from "./AgentRunner.js"
import { CodexAgent } from "./CodexAgent.js"
import { SubAgent } from "./SubAgent.js"
import type { Subagents } from "./Subagents.js"
import type { Tools } from "./Tools.js"

/** What one run of an agent is given. */
export interface AgentContext {
  readonly runId: RunId
  readonly spec: StartRun
  readonly model: ResolvedModel
  /** 0 for a client's run, the parent's depth + 1 for a subagent (`spawn_subagent` refuses at `maxSubagentDepth`). */
  readonly depth: number
  /** Most model turns (`agents.maxSteps`). */
  readonly maxSteps: number
}

export interface Agent {
  readonly name: KnownAgent
  /** Refuses a spec this agent cannot run; checked before the run is accepted. */
  readonly validate: (spec: StartRun) => Option.Option<InvalidRequest>
  /**
   * Runs the agent, handing its outputs to `emit` as they come, ending with `RunCompleted` (whose `durationMs` the
   * supervisor sets). An agent may ignore what `emit` answers: only `RunCompleted`, its last output, is answered
   * `false`. Pushed rather than streamed: each Stream stage between the model and the supervisor cost CPU per token.
   * Its services (tools, subagents) are handed in: provided around each run instead, they cost a fiber-ref update and
   * restore per run.
   */
  readonly run: (
    context: AgentContext,
    emit: EmitOutputs,
    services: Context.Context<AgentRequirements>
  ) => Effect.Effect<void, RunError>
}

/** What a run needs: its tools (workspace, commands, files) and a way to start subagents. */
export type AgentRequirements = Tools | Subagents

const agents: { readonly [Name in KnownAgent]: Agent } = {
  codex: CodexAgent,
  subagent: SubAgent
}

export const agentFor = (name: KnownAgent): Agent => agents[name]
