/**
 * The worker-thread pool as a service (DESIGN decisions 3-5): the synchronous `PoolCore` (scheduler,
 * threads, quotas) wrapped for Effect. Quotas are enforced from the main thread without the worker's
 * cooperation: heap by `resourceLimits`, CPU time by sampling the worker's event-loop activity,
 * wall-clock time by the run supervisor, which interrupts the run (the busy thread is then
 * terminated). Subagents that runs ask for are started here, on other threads of the same pool.
 */
import {
  Cause,
  Chunk,
  Clock,
  Context,
  Duration,
  Effect,
  Exit,
  Fiber,
  FiberSet,
  Layer,
  Option,
  Schedule,
  type Stream,
  Tracer
} from "effect"
import { type AgentOutput, stamp } from "../Agents/AgentOutput.js"
import { type AgentJob, type EmitOutputs, outputStream } from "../Agents/AgentRunner.js"
import { GatewayConfig } from "../Config/GatewayConfig.js"
import { RunId } from "../Domain/Ids.js"
import { InvalidRequest, QueueFull, type RunError } from "../Domain/RunError.js"
import { StartRun } from "../Domain/RunSpec.js"
import { Quota } from "../Quota/Quota.js"
import { logLevelOf } from "../Telemetry/LogLevels.js"
import { makePoolCore, type PoolStats } from "./PoolCore.js"
import type { FromWorker } from "./WorkerProtocol.js"
import { defaultWorkerScript } from "./WorkerScript.js"

export type { PoolStats, PoolThreadStats } from "./PoolCore.js"

export interface ThreadPoolService {
  /** Runs the job on a thread of its own, handing its outputs to `emit`: `RunQueued` first while it waits. */
  readonly execute: (job: AgentJob, emit: EmitOutputs) => Effect.Effect<void, RunError>
  /** The same outputs as a Stream (`outputStream` over `execute`); interrupting it stops the run. */
  readonly submit: (job: AgentJob) => Stream.Stream<AgentOutput, RunError>
  /**
   * The same, collected: a run's outputs once it has ended (for short runs, and the pool's benchmark). Without
   * `RunQueued`: places in the queue are stale by then, and not tracking them keeps a long queue cheap.
   */
  readonly run: (job: AgentJob) => Effect.Effect<ReadonlyArray<AgentOutput>, RunError>
  readonly stats: Effect.Effect<PoolStats>
}

export class ThreadPool extends Context.Tag("openclaw/ThreadPool")<ThreadPool, ThreadPoolService>() {}

/**
 * How often at most waiting runs hear of their new places. A client showing its place needs no more, and each telling
 * wakes every waiting run: per turn, a queue of 62 short runs cost ~100 µs of main thread per run dispatched, against
 * ~30 µs without places (bench/pool.ts-like lanes).
 */
const QueuePositionIntervalMs = 100

/** How often busy threads' CPU time is sampled. */
const cpuSampleMs = (cpuTimeMs: number) => Math.min(250, Math.max(10, Math.floor(cpuTimeMs / 4)))

export const make = (options: { readonly script?: URL } = {}) =>
  Effect.gen(function*() {
    const { config, input } = yield* GatewayConfig
    const quota = yield* Quota
    const poolConfig = config.agents.threadPool
    const script = options.script ?? (yield* Effect.try(defaultWorkerScript).pipe(Effect.orDie))
    /** Subagents, by thread and request id: interrupted with the pool, so none outlives it. */
    const background = yield* FiberSet.make<void, never>()
    const runFork = yield* FiberSet.runtime(background)<never>()
    const children = new Map<string, Fiber.RuntimeFiber<void>>()
    const childKey = (threadId: number, requestId: number) => `${threadId}:${requestId}`

    const core = makePoolCore({
      scheduler: {
        maxThreads: poolConfig.maxThreads,
        minThreads: poolConfig.minThreads,
        idleTimeoutMs: poolConfig.idleTimeout,
        queueSize: poolConfig.queueSize
      },
      heapMb: poolConfig.limits.heapMb,
      cpuTimeMs: poolConfig.limits.cpuTimeMs,
      script,
      configInput: input,
      positionIntervalMs: QueuePositionIntervalMs,
      onSubagentMessage: (threadId, message) => {
        if (message._tag === "SpawnSubagent") {
          children.set(childKey(threadId, message.requestId), runFork(spawnSubagent(threadId, message)))
          return
        }
        const child = children.get(childKey(threadId, message.requestId))
        if (child !== undefined) child.unsafeInterruptAsFork(child.id())
      },
      onLog: (threadId, entry) =>
        void runFork(
          Effect.logWithLevel(logLevelOf(entry.level), entry.message).pipe(
            Effect.annotateLogs({ ...entry.annotations, thread: threadId })
          )
        ),
      onThreadGone: (threadId) => {
        for (const [key, child] of children) if (key.startsWith(`${threadId}:`)) child.unsafeInterruptAsFork(child.id())
      }
    })
    yield* Effect.addFinalizer(() => Effect.sync(core.close))

    // CPU quota: the main thread samples each busy thread's event-loop active time.
    yield* Effect.sync(core.sampleCpu).pipe(
      Effect.repeat(Schedule.spaced(Duration.millis(cpuSampleMs(poolConfig.limits.cpuTimeMs)))),
      Effect.forkScoped
    )

    /**
     * Runs the job on a thread, handing its outputs to `emit` from one plain Effect loop on the core's callbacks: a
     * buffer the callbacks fill, and the loop emits what is buffered, or waits. No Stream or Channel between the
     * worker's messages and the supervisor: one cost ~400 µs of main-thread CPU per run (ten times the pool's own
     * work), and a Mailbox behind it twice that. Flow control: credited batches are credited back once `emit` has
     * taken them.
     */
    const execute = (job: AgentJob, emit: EmitOutputs): Effect.Effect<void, RunError> =>
      Effect.flatMap(Effect.serviceOption(Tracer.ParentSpan), (parent) => {
        // The span the run is consumed in (the supervisor's) learns which thread runs it, and the worker's spans join
        // its trace.
        const span = Option.filter(parent, (parent): parent is Tracer.Span => parent._tag === "Span")
        const traced = Option.isNone(span)
          ? job
          : { ...job, trace: { traceId: span.value.traceId, spanId: span.value.spanId } }
        let buffer: Array<AgentOutput> = []
        let credited = 0
        let ended = false
        let failure: RunError | undefined
        let wake: (() => void) | undefined
        core.submit(traced, {
          onOutputs: (outputs, isCredited) => {
            for (const output of outputs) buffer.push(output)
            if (isCredited) credited++
            wake?.()
          },
          onQueued: (position) => {
            // A place the consumer has not taken yet is out of date: only the latest is worth emitting.
            const last = buffer.length - 1
            if (buffer[last]?._tag === "RunQueued") buffer[last] = { _tag: "RunQueued", position }
            else buffer.push({ _tag: "RunQueued", position })
            wake?.()
          },
          onEnd: (error) => {
            ended = true
            failure = error
            wake?.()
          },
          onDispatched: (threadId) => {
            if (Option.isSome(span)) span.value.attribute("threadId", threadId)
          }
        })
        // No canceler: one costs ~4 µs per wait (an `onInterrupt` around it), and an interrupted wait's `wake` can
        // only resume a wait that is already over, which Effect ignores.
        const waitForMore = Effect.async<void>((resume) => {
          // The fiber may have yielded since the loop looked: what arrived meanwhile must not be slept through.
          if (buffer.length > 0 || ended) return resume(Effect.void)
          wake = () => {
            wake = undefined
            resume(Effect.void)
          }
        })
        const loop: Effect.Effect<void, RunError> = Effect.suspend(() => {
          if (buffer.length > 0) {
            const outputs = Chunk.unsafeFromArray(buffer)
            const taken = credited
            buffer = []
            credited = 0
            return Effect.flatMap(emit(outputs), (more) => {
              if (taken > 0) core.credit(job.runId, taken)
              return more ? loop : Effect.void
            })
          }
          if (ended) return failure === undefined ? Effect.void : Effect.fail(failure)
          return Effect.zipRight(waitForMore, loop)
        })
        return loop
      }).pipe(
        // However the consumer stops (cancel, timeout, disconnect), the pool hears of it; a no-op once ended. Around
        // the submission too, so no interruption can fall between the run's submission and this.
        Effect.ensuring(Effect.sync(() => core.cancel(job.runId)))
      )

    // The pool hears of an interruption through `ensuring`, not a canceler, for the same reason as above (~2 µs less
    // per run); once the run has ended, `cancel` is a no-op.
    const run = (job: AgentJob): Effect.Effect<ReadonlyArray<AgentOutput>, RunError> =>
      Effect.ensuring(
        Effect.async<ReadonlyArray<AgentOutput>, RunError>((resume) => {
          const outputs: Array<AgentOutput> = []
          core.submit(job, {
            onOutputs: (batch, credited) => {
              for (const output of batch) outputs.push(output)
              if (credited) core.credit(job.runId, 1)
            },
            onEnd: (error) => resume(error === undefined ? Effect.succeed(outputs) : Effect.fail(error))
          })
        }),
        Effect.sync(() => core.cancel(job.runId))
      )

    /**
     * A run's `spawn_subagent`: the child is a run of this pool like any other (it counts against the parent's
     * principal's quotas); its events go back to the parent's thread, numbered under its own run id. A parent
     * waits on its child while holding its own thread, so a child that had to queue could wait for threads held
     * by parents waiting on children: a child starts at once or is refused (the model sees a tool error).
     */
    const spawnSubagent = (threadId: number, request: Extract<FromWorker, { _tag: "SpawnSubagent" }>) => {
      const send = (error: RunError | undefined) =>
        core.post(threadId, {
          _tag: "SubagentEnded",
          requestId: request.requestId,
          ...(error === undefined ? {} : { error })
        })
      return Effect.gen(function*() {
        const parent = core.runOnThread(threadId, request.parentRunId)
        if (parent === undefined) {
          return send(new InvalidRequest({ reason: `run ${request.parentRunId} is not running on this thread` }))
        }
        const load = core.load()
        if (load.idle + load.starting + (poolConfig.maxThreads - load.alive) - load.queued <= 0) {
          return send(new QueueFull({ queueSize: poolConfig.queueSize, retryAfterMs: core.retryAfterMs() }))
        }
        const principal = parent.principal ?? "anonymous"
        const child: AgentJob = {
          runId: RunId.make(crypto.randomUUID()),
          agent: "subagent",
          spec: new StartRun({ agent: "subagent", mode: "thread-bound", prompt: request.prompt }),
          model: parent.model,
          depth: request.depth,
          principal
        }
        const exit = yield* Effect.exit(Effect.scoped(Effect.gen(function*() {
          yield* quota.admit(principal)
          const startedAt = yield* Clock.currentTimeMillis
          let seq = 0
          yield* execute(child, (outputs) =>
            Effect.map(Clock.currentTimeMillis, (at) => {
              const events = Chunk.toReadonlyArray(Chunk.map(outputs, (output) =>
                stamp(
                  output._tag === "RunCompleted" ? { ...output, durationMs: at - startedAt } : output,
                  child.runId,
                  seq++,
                  at
                )))
              core.post(threadId, { _tag: "SubagentEvents", requestId: request.requestId, events })
              return true
            }))
        })))
        if (Exit.isInterrupted(exit)) return
        const failure = Exit.isFailure(exit) ? Cause.failureOption(exit.cause) : Option.none()
        send(Option.getOrUndefined(failure))
      }).pipe(Effect.ensuring(Effect.sync(() => children.delete(childKey(threadId, request.requestId)))))
    }

    return ThreadPool.of({
      execute,
      submit: (job) => outputStream((emit) => execute(job, emit)),
      run,
      stats: Effect.sync(core.stats)
    })
  })

export const layer = (options: { readonly script?: URL } = {}): Layer.Layer<ThreadPool, never, GatewayConfig | Quota> =>
  Layer.scoped(ThreadPool, make(options))
