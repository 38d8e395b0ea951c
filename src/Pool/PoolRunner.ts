/**
 * The `AgentRunner` of the gateway: `thread-bound` runs go to the thread pool, `inline` runs stay on
 * the main thread's fibers.
 */
import { Effect, Layer } from "effect"
import { AgentRunner } from "../Agents/AgentRunner.js"
import type { GatewayConfig } from "../Config/GatewayConfig.js"
import * as InlineRunner from "../Agents/InlineRunner.js"
import { ThreadPool } from "./ThreadPool.js"

export const make = Effect.gen(function*() {
  const pool = yield* ThreadPool
  const inline = yield* AgentRunner
  return AgentRunner.of({
    execute: (job, emit) => job.spec.mode === "inline" ? inline.execute(job, emit) : pool.execute(job, emit)
  })
})

export const layer: Layer.Layer<AgentRunner, never, ThreadPool | GatewayConfig> = Layer.effect(AgentRunner, make).pipe(
  Layer.provide(InlineRunner.layer)
)
