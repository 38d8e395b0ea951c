/**
 * The entry point of a pool worker thread: its own Effect runtime, built from the config the pool
 * hands over, running one run at a time with the same agent code as inline runs. Each run gets a
 * fresh provider registry and runner, so no run sees another's state. Events go back in batches,
 * at most `MaxOutstandingBatches` ahead of what the main thread has taken; the last batch goes with
 * `Completed`, after the run's cleanup, so that a short run costs one message back.
 */
import {
  Cause,
  Chunk,
  Clock,
  Effect,
  Exit,
  HashMap,
  Layer,
  Logger,
  Option,
  Runtime,
  Schema,
  Tracer
} from "effect"
import * as v8 from "node:v8"
import { parentPort, workerData } from "node:worker_threads"
import { stamp } from "../Agents/AgentOutput.js"
import { AgentRunner } from "../Agents/AgentRunner.js"
import * as InlineRunner from "../Agents/InlineRunner.js"
import { OpenclawConfig } from "../Config/ConfigSchema.js"
import { GatewayConfig } from "../Config/GatewayConfig.js"
import type { AgentEvent } from "../Domain/AgentEvent.js"
import { AgentFailed, type RunError } from "../Domain/RunError.js"
import * as ProviderRegistry from "../Llm/ProviderRegistry.js"
import { logLevelName, logLevelOf } from "../Telemetry/LogLevels.js"
import * as Tools from "../Agents/Tools.js"
import { FromWorker, MaxOutstandingBatches, ToWorker, WorkerInit } from "./WorkerProtocol.js"
import * as WorkerSubagents from "./WorkerSubagents.js"

const HealthIntervalMs = 1000

const program = Effect.gen(function*() {
  const port = parentPort
  if (port === null) return yield* Effect.dieMessage("WorkerMain must run in a worker thread")
  const init = yield* Schema.decodeUnknown(WorkerInit)(workerData)
  const configInput = init.configInput
  const config = yield* Schema.decodeUnknown(OpenclawConfig, { onExcessProperty: "error" })(configInput)
  const configLayer = Layer.succeed(GatewayConfig, { config, file: Option.none(), input: configInput })
  const encode = Schema.encodeSync(FromWorker)
  const decode = Schema.decodeUnknownEither(ToWorker)
  const post = (message: FromWorker) => port.postMessage(encode(message))
  /**
   * Event batches are posted as they are, without `Schema.encode`: every field of an `AgentEvent` encodes to itself,
   * so the structured clone of the classes is their JSON form (tested equal); the main thread checks what it gets.
   * Encoding them was the largest part of the worker's work per short run in a profile.
   */
  const postBatch = (message: Extract<FromWorker, { _tag: "Events" | "Completed" }>) => port.postMessage(message)
  const credits = new Map<string, Effect.Semaphore>()
  const subagents = WorkerSubagents.make(post)
  // The same runner as inline runs, except that subagents run on other threads of the pool. Built once per
  // thread: its services hold no run state (each run opens its own workspace and tools), and a thread is only
  // reused after a clean run.
  const services = yield* Layer.build(
    Layer.merge(
      Layer.effect(AgentRunner, InlineRunner.make).pipe(
        Layer.provide(Layer.mergeAll(Tools.layerConfig(), subagents.layer)),
        Layer.provideMerge(configLayer)
      ),
      ProviderRegistry.layer.pipe(Layer.provide(configLayer))
    )
  )

  const execute = (run: Extract<ToWorker, { _tag: "Run" }>) => {
    /** The batch holding `RunCompleted`: it goes with `Completed`, once the run's resources are released. */
    let last: ReadonlyArray<AgentEvent> | undefined
    return Effect.gen(function*() {
      const semaphore = yield* Effect.makeSemaphore(MaxOutstandingBatches)
      credits.set(run.runId, semaphore)
      const registry = yield* ProviderRegistry.ProviderRegistry
      const model = yield* registry.resolve(run.spec.model)
      const runner = yield* AgentRunner
      const send = (events: ReadonlyArray<AgentEvent>) =>
        Effect.zipRight(semaphore.take(1), Effect.sync(() => postBatch({ _tag: "Events", runId: run.runId, events })))
      let seq = 0
      const job = { runId: run.runId, agent: run.agent, spec: run.spec, model, depth: run.depth }
      yield* runner.execute(job, (outputs) =>
        Effect.flatMap(Clock.currentTimeMillis, (at) => {
          const events = Chunk.toReadonlyArray(Chunk.map(outputs, (output) => stamp(output, run.runId, seq++, at)))
          // Outputs after RunCompleted (an agent breaking its contract) send the held batch first, in order.
          const held = last
          last = undefined
          const flushed = held === undefined ? Effect.void : send(held)
          if (!events.some((event) => event._tag === "RunCompleted")) {
            return Effect.as(Effect.zipRight(flushed, send(events)), true)
          }
          return Effect.map(flushed, () => {
            last = events
            return true
          })
        }))
    }).pipe(
      Effect.annotateLogs({ runId: run.runId }),
      Effect.withSpan("Worker.run", {
        attributes: { runId: run.runId, agent: run.agent, threadId: init.threadId },
        ...(run.trace === undefined ? {} : { parent: Tracer.externalSpan(run.trace) })
      }),
      Effect.onExit((exit) =>
        Effect.sync(() => {
          credits.delete(run.runId)
          if (Exit.isSuccess(exit)) return postBatch({ _tag: "Completed", runId: run.runId, events: last ?? [] })
          if (last !== undefined) postBatch({ _tag: "Events", runId: run.runId, events: last })
          const failure = Cause.failureOption(exit.cause)
          const error: RunError = Option.getOrElse(failure, () =>
            new AgentFailed({ runId: run.runId, reason: `worker: ${Cause.pretty(exit.cause)}` })
          )
          post({ _tag: "Failed", runId: run.runId, error })
        })
      ),
      Effect.ignore
    )
  }

  // With `telemetry.otlp`, spans of runs go to the collector too, as children of the main thread's span of the run;
  // batched briefly, since a thread may be terminated at any time. The SDK is only loaded then: it would add its
  // module loading to every thread's start.
  const { otlp, serviceName } = config.telemetry
  const tracing = otlp === undefined
    ? Layer.empty
    : Layer.unwrapEffect(Effect.map(
      Effect.promise(() => import("../Telemetry/OtelSdk.js")),
      (OtelSdk) => OtelSdk.sdkLayer(serviceName, OtelSdk.otlpSpanProcessors(config.telemetry, 200), [])
    ))
  // The worker's log entries go to the main thread, which writes them with its own (one format, one ring).
  const forwardLogs = Layer.merge(
    Logger.replace(
      Logger.defaultLogger,
      Logger.make(({ annotations, logLevel, message }) =>
        post({
          _tag: "Log",
          level: logLevelName(logLevel),
          message: Array.isArray(message) ? message.map(String).join(" ") : String(message),
          annotations: Object.fromEntries(Array.from(HashMap.toEntries(annotations), ([key, value]) => [key, String(value)]))
        })
      )
    ),
    Logger.minimumLogLevel(logLevelOf(config.logging.level))
  )
  // The runs' services are part of the thread's runtime, built once: nothing is provided per run.
  const runtime = yield* Layer.toRuntime(Layer.mergeAll(tracing, forwardLogs, Layer.succeedContext(services)))
  const runFork = Runtime.runFork(runtime)
  port.on("message", (raw: unknown) => {
    const message = decode(raw)
    if (message._tag === "Left") return
    const value = message.right
    switch (value._tag) {
      case "Run":
        runFork(execute(value))
        break
      case "Credit": {
        const semaphore = credits.get(value.runId)
        if (semaphore !== undefined) runFork(semaphore.release(value.batches))
        break
      }
      case "SubagentEvents":
      case "SubagentEnded":
        runFork(subagents.receive(value))
    }
  })
  setInterval(() => post({ _tag: "Health", heapUsedBytes: v8.getHeapStatistics().used_heap_size }), HealthIntervalMs)
    .unref()
  post({ _tag: "Ready" })
  // The thread lives until the pool terminates it; its services stay built until then.
  return yield* Effect.never
})

// A worker that cannot start exits with code 1: the pool sees it die before `Ready` and backs off.
Effect.runFork(
  program.pipe(
    Effect.scoped,
    Effect.catchAllCause((cause) =>
      Effect.sync(() => {
        process.stderr.write(`openclaw worker failed to start: ${Cause.pretty(cause)}\n`)
        process.exit(1)
      })
    )
  )
)
