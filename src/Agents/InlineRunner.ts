/** The `AgentRunner` that runs agents on the main thread's fibers (every mode, until the thread pool exists). */
import { NodeContext } from "@effect/platform-node"
import { Effect, Layer, Stream } from "effect"
import { type AgentRequirements, agentFor } from "./Agent.js"
import type { AgentOutput } from "./AgentOutput.js"
import { type AgentJob, AgentRunner, type AgentRunnerService } from "./AgentRunner.js"

export const make: Effect.Effect<AgentRunnerService, never, AgentRequirements> = Effect.gen(function*() {
  const platform = yield* Effect.context<AgentRequirements>()
  const execute = (job: AgentJob) => {
    const started: AgentOutput = { _tag: "RunStarted", agent: job.agent, mode: job.spec.mode, model: job.model.id }
    return Stream.concat(
      Stream.make(started),
      agentFor(job.agent).run({ runId: job.runId, spec: job.spec, model: job.model })
    ).pipe(Stream.provideContext(platform))
  }
  return AgentRunner.of({ execute })
})

/** Needs nothing: the platform services (processes, file system) are Node's. */
export const layer: Layer.Layer<AgentRunner> = Layer.effect(AgentRunner, make).pipe(Layer.provide(NodeContext.layer))
