/** Runs an agent to its end outside any supervisor, with the services of a layer, collecting what it emits. */
import { Effect, type Either, type Layer } from "effect"
import type { Agent, AgentContext, AgentRequirements } from "../../src/Agents/Agent.js"
import type { AgentOutput } from "../../src/Agents/AgentOutput.js"
import type { RunError } from "../../src/Domain/RunError.js"

export interface AgentRunResult {
  /** Every output, in the order emitted. */
  readonly seen: ReadonlyArray<AgentOutput>
  /** How the run ended. */
  readonly result: Either.Either<void, RunError>
}

export const runAgent = <E, R>(
  agent: Agent,
  context: AgentContext,
  services: Layer.Layer<AgentRequirements, E, R>
): Effect.Effect<AgentRunResult, E, R> =>
  Effect.suspend(() => {
    const seen: Array<AgentOutput> = []
    const emit = (outputs: Iterable<AgentOutput>) =>
      Effect.sync(() => {
        seen.push(...outputs)
        return true
      })
    return Effect.flatMap(Effect.context<AgentRequirements>(), (provided) => agent.run(context, emit, provided)).pipe(
      Effect.either,
      Effect.provide(services),
      Effect.map((result) => ({ seen, result }))
    )
  })
