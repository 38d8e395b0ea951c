/** The contract every agent loop implements, and the agents the gateway knows by name. */
import type { CommandExecutor } from "@effect/platform/CommandExecutor"
import type { FileSystem } from "@effect/platform/FileSystem"
import type { Option, Stream } from "effect"
import type { KnownAgent } from "../Config/ConfigSchema.js"
import type { RunId } from "../Domain/Ids.js"
import type { InvalidRequest, RunError } from "../Domain/RunError.js"
import type { StartRun } from "../Domain/RunSpec.js"
import type { ResolvedModel } from "../Llm/ProviderRegistry.js"
import type { AgentOutput } from "./AgentOutput.js"
import { CodexAgent } from "./CodexAgent.js"
import { SubAgent } from "./SubAgent.js"

/** What one run of an agent is given. */
export interface AgentContext {
  readonly runId: RunId
  readonly spec: StartRun
  readonly model: ResolvedModel
}

export interface Agent<R = never> {
  readonly name: KnownAgent
  /** Refuses a spec this agent cannot run; checked before the run is accepted. */
  readonly validate: (spec: StartRun) => Option.Option<InvalidRequest>
  /** The run's outputs, ending with `RunCompleted` (whose `durationMs` the supervisor sets). */
  readonly run: (context: AgentContext) => Stream.Stream<AgentOutput, RunError, R>
}

/** What the agents need from the platform: the codex agent spawns commands in a temporary workspace. */
export type AgentRequirements = CommandExecutor | FileSystem

const agents: { readonly [Name in KnownAgent]: Agent<AgentRequirements> } = {
  codex: CodexAgent,
  subagent: SubAgent
}

export const agentFor = (name: KnownAgent): Agent<AgentRequirements> => agents[name]
