/**
 * `Subagents` on the caller's own fibers: the child run is part of the parent's run, so the parent's timeout,
 * cancellation and shutdown stop the child too. Used by inline runs and by tests; thread-bound runs go through the
 * pool instead.
 */
import { Clock, Context, Effect, Layer, Option, ParseResult, Schema, Stream } from "effect"
import { RunId } from "../Domain/Ids.js"
import { InvalidRequest } from "../Domain/RunError.js"
import { StartRun } from "../Domain/RunSpec.js"
import type { AgentContext } from "./Agent.js"
import { type AgentOutput, stamp } from "./AgentOutput.js"
import { outputStream } from "./AgentRunner.js"
import { SubAgent } from "./SubAgent.js"
import { Subagents, type SubagentsService } from "./Subagents.js"
import { Tools } from "./Tools.js"

export interface InlineSubagentsOptions {
  /** Most model turns of each child (`agents.maxSteps`). */
  readonly maxSteps: number
}

const decodeSpec = Schema.decodeUnknown(StartRun)

export const make = (options: InlineSubagentsOptions): Effect.Effect<SubagentsService, never, Tools> =>
  Effect.gen(function*() {
    const tools = yield* Tools
    const service: SubagentsService = {
      spawn: (request) =>
        Stream.unwrap(Effect.gen(function*() {
          const spec = yield* decodeSpec({ agent: "subagent", mode: "inline", prompt: request.prompt }).pipe(
            Effect.mapError((error) =>
              new InvalidRequest({ reason: ParseResult.TreeFormatter.formatErrorSync(error) })
            )
          )
          const refusal = SubAgent.validate(spec)
          if (Option.isSome(refusal)) return yield* refusal.value
          const runId = RunId.make(crypto.randomUUID())
          const context: AgentContext = {
            runId,
            spec,
            model: request.model,
            depth: request.depth,
            maxSteps: options.maxSteps
          }
          const startedAt = yield* Clock.currentTimeMillis
          const started: AgentOutput = {
            _tag: "RunStarted",
            agent: "subagent",
            mode: "inline",
            model: request.model.id
          }
          let seq = 0
          // The child's own subagents are started the same way.
          const services = Context.make(Tools, tools).pipe(Context.add(Subagents, service))
          const outputs = outputStream((emit) => SubAgent.run(context, emit, services))
          return Stream.concat(Stream.make(started), outputs).pipe(
            Stream.takeUntil((output) => output._tag === "RunCompleted"),
            Stream.mapEffect((output) =>
              Effect.map(Clock.currentTimeMillis, (at) =>
                stamp(
                  output._tag === "RunCompleted" ? { ...output, durationMs: at - startedAt } : output,
                  runId,
                  seq++,
                  at
                ))
            )
          )
        }))
    }
    return service
  })

export const layer = (options: InlineSubagentsOptions): Layer.Layer<Subagents, never, Tools> =>
  Layer.effect(Subagents, make(options))
