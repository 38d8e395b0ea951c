/** The `AgentRunner` that runs agents on the main thread's fibers (inline runs, and every run a worker executes). */
import { Chunk, Effect, Layer } from "effect"
import { GatewayConfig } from "../Config/GatewayConfig.js"
import { type AgentRequirements, agentFor } from "./Agent.js"
import type { AgentOutput } from "./AgentOutput.js"
import { type AgentJob, AgentRunner, type AgentRunnerService, type EmitOutputs } from "./AgentRunner.js"
import * as InlineSubagents from "./InlineSubagents.js"
import * as Tools from "./Tools.js"

export const make: Effect.Effect<AgentRunnerService, never, AgentRequirements | GatewayConfig> = Effect.gen(
  function*() {
    const { config } = yield* GatewayConfig
    const services = yield* Effect.context<AgentRequirements>()
    const execute = (job: AgentJob, emit: EmitOutputs) => {
      const started: AgentOutput = { _tag: "RunStarted", agent: job.agent, mode: job.spec.mode, model: job.model.id }
      const context = {
        runId: job.runId,
        spec: job.spec,
        model: job.model,
        depth: job.depth ?? 0,
        maxSteps: config.agents.maxSteps
      }
      // RunStarted is handed over before the agent starts: its set-up (workspace, the model's stream) is most of the
      // time before the first token, and the run has begun.
      return Effect.flatMap(emit(Chunk.of(started)), (more) =>
        more ? agentFor(job.agent).run(context, emit, services) : Effect.void)
    }
    return AgentRunner.of({ execute })
  }
)

/** Tools configured by `agents.*` (on Node's processes and file system); subagents run on the same fibers. */
export const layer: Layer.Layer<AgentRunner, never, GatewayConfig> = Layer.effect(AgentRunner, make).pipe(
  Layer.provide(
    Layer.unwrapEffect(
      Effect.map(GatewayConfig, ({ config }) => InlineSubagents.layer({ maxSteps: config.agents.maxSteps }))
    )
  ),
  Layer.provide(Tools.layerConfig())
)
