/**
 * The worker-thread pool (DESIGN decisions 3-5): a thin effectful driver around the pure
 * `Scheduler`. One fiber takes events (submissions, worker messages, exits, quota breaches, clock
 * ticks) from a queue in order, steps the scheduler and performs its commands: spawn, dispatch,
 * terminate. Quotas are enforced from the main thread without the worker's cooperation: heap by
 * `resourceLimits`, CPU time by sampling the worker's event-loop utilisation, wall-clock time by the
 * run supervisor, which interrupts the run's stream (the busy thread is then terminated).
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
  Mailbox,
  Option,
  Queue,
  Runtime,
  Schedule,
  Stream
} from "effect"
import type { EventLoopUtilization } from "node:perf_hooks"
import { type AgentOutput, stamp } from "../Agents/AgentOutput.js"
import type { AgentJob } from "../Agents/AgentRunner.js"
import { GatewayConfig } from "../Config/GatewayConfig.js"
import { RunId } from "../Domain/Ids.js"
import {
  CpuQuotaExceeded,
  InvalidRequest,
  QueueFull,
  type RunError,
  ThreadOutOfMemory,
  WorkerCrashed
} from "../Domain/RunError.js"
import * as Scheduler from "./Scheduler.js"
import { StartRun } from "../Domain/RunSpec.js"
import { Quota } from "../Quota/Quota.js"
import type { FromWorker, ToWorker } from "./WorkerProtocol.js"
import { defaultWorkerScript } from "./WorkerScript.js"
import { spawnWorkerThread, type WorkerExit, type WorkerThread } from "./WorkerThread.js"

export interface PoolThreadStats {
  readonly id: number
  readonly status: Scheduler.ThreadStatus
  readonly runId: string | null
  readonly ageMs: number
  readonly heapUsedBytes: number
  /** Event-loop utilisation since the thread started, 0..1. */
  readonly utilization: number
  /** CPU (event-loop active) time of the current run, in ms. */
  readonly runCpuMs: number
}

export interface PoolStats {
  readonly maxThreads: number
  readonly minThreads: number
  readonly queueSize: number
  readonly threads: ReadonlyArray<PoolThreadStats>
  readonly queued: ReadonlyArray<string>
  /** Threads terminated or lost, by reason, since start. */
  readonly terminations: Readonly<Record<string, number>>
}

export interface ThreadPoolService {
  /** Runs the job on a thread of its own; the stream's outputs are the run's, `RunQueued` first while it waits. */
  readonly submit: (job: AgentJob) => Stream.Stream<AgentOutput, RunError>
  readonly stats: Effect.Effect<PoolStats>
}

export class ThreadPool extends Context.Tag("openclaw/ThreadPool")<ThreadPool, ThreadPoolService>() {}

type DriverEvent =
  | Scheduler.Event
  | { readonly _tag: "Message"; readonly threadId: number; readonly message: FromWorker }
  | { readonly _tag: "WorkerGone"; readonly threadId: number; readonly exit: WorkerExit }
  | { readonly _tag: "OverQuota"; readonly threadId: number; readonly runId: string; readonly error: RunError }

interface RunEntry {
  readonly job: AgentJob
  readonly channel: Mailbox.Mailbox<ReadonlyArray<AgentOutput>, RunError>
  threadId: number | undefined
  cpuSince: EventLoopUtilization | undefined
  dispatchedAt: number
  /**
   * RunCompleted was forwarded: the consumer may stop before the worker's `Completed` message arrives, and
   * that must not read as a cancellation (which would terminate a healthy thread).
   */
  completed: boolean
}

/** Consecutive start-up deaths after which waiting runs are failed instead of kept waiting. */
const MaxStartFailures = 3
/** How often busy threads' CPU time is sampled. */
const cpuSampleMs = (cpuTimeMs: number) => Math.min(250, Math.max(10, Math.floor(cpuTimeMs / 4)))
/** Back-off of respawns after threads that died while starting: 100 ms doubling up to 5 s. */
const spawnBackoffMs = (failures: number) => failures === 0 ? 0 : Math.min(5000, 100 * 2 ** (failures - 1))

export const make = (options: { readonly script?: URL } = {}) =>
  Effect.gen(function*() {
    const { config, input } = yield* GatewayConfig
    const poolConfig = config.agents.threadPool
    const { heapMb, cpuTimeMs } = poolConfig.limits
    const script = options.script ?? (yield* Effect.try(defaultWorkerScript).pipe(Effect.orDie))
    const schedulerConfig: Scheduler.SchedulerConfig = {
      maxThreads: poolConfig.maxThreads,
      minThreads: poolConfig.minThreads,
      idleTimeoutMs: poolConfig.idleTimeout,
      queueSize: poolConfig.queueSize
    }

    const quota = yield* Quota
    const runFork = Runtime.runFork(yield* Effect.runtime<never>())
    const events = yield* Queue.unbounded<DriverEvent>()
    const offer = (event: DriverEvent) => Queue.unsafeOffer(events, event)
    const runs = new Map<string, RunEntry>()
    const workers = new Map<number, WorkerThread>()
    /** Delayed spawns, wake-up timers and subagents: interrupted with the pool, so none outlives it. */
    const background = yield* FiberSet.make<unknown, never>()
    let closed = false
    const terminations: Record<string, number> = {}
    let startFailures = 0
    let averageRunMs = 1000
    let wakeTimer: Fiber.RuntimeFiber<void> | undefined

    /** A hint for refused runs: about one average run's time per thread. */
    const retryAfterMs = () => Math.min(60_000, Math.max(100, Math.round(averageRunMs / poolConfig.maxThreads)))

    const countTermination = (reason: string) => {
      terminations[reason] = (terminations[reason] ?? 0) + 1
    }

    const finishRun = (runId: string, outcome: { readonly _tag: "End" } | { readonly _tag: "Fail"; readonly error: RunError }) =>
      Effect.gen(function*() {
        const entry = runs.get(runId)
        if (entry === undefined) return
        runs.delete(runId)
        if (entry.threadId !== undefined) {
          const now = yield* Clock.currentTimeMillis
          averageRunMs = averageRunMs * 0.8 + (now - entry.dispatchedAt) * 0.2
        }
        yield* outcome._tag === "End" ? entry.channel.end : entry.channel.fail(outcome.error)
      })

    const spawn = (threadId: number) =>
      Effect.suspend(() => {
        // During a back-off the scheduler may have given up on this thread, or the pool may be closing.
        if (closed || state.threads.get(threadId)?.status !== "starting") {
          offer({ _tag: "WorkerGone", threadId, exit: { _tag: "Exited", code: 0, error: undefined } })
          return Effect.void
        }
        try {
          const worker = spawnWorkerThread({
            script,
            init: { threadId, configInput: input },
            heapMb,
            onMessage: (message) => offer({ _tag: "Message", threadId, message }),
            onExit: (exit) => offer({ _tag: "WorkerGone", threadId, exit })
          })
          workers.set(threadId, worker)
        } catch (error) {
          offer({ _tag: "WorkerGone", threadId, exit: { _tag: "Exited", code: -1, error: String(error) } })
        }
        return Effect.void
      }).pipe(Effect.delay(Duration.millis(spawnBackoffMs(startFailures))))

    const perform = (command: Scheduler.Command): Effect.Effect<void> => {
      switch (command._tag) {
        case "Spawn":
          return Effect.asVoid(FiberSet.run(background, spawn(command.threadId)))
        case "Dispatch":
          return Effect.gen(function*() {
            const entry = runs.get(command.runId)
            const worker = workers.get(command.threadId)
            if (entry === undefined || worker === undefined) return
            entry.threadId = command.threadId
            entry.cpuSince = worker.utilization()
            entry.dispatchedAt = yield* Clock.currentTimeMillis
            const { job } = entry
            worker.post({
              _tag: "Run",
              runId: job.runId,
              agent: job.agent,
              spec: job.spec,
              model: job.model.id,
              depth: job.depth ?? 0
            })
          })
        case "Terminate":
          return Effect.sync(() => workers.get(command.threadId)?.terminate())
        case "Reject":
          return finishRun(command.runId, {
            _tag: "Fail",
            error: new QueueFull({ queueSize: poolConfig.queueSize, retryAfterMs: retryAfterMs() })
          })
        case "Queued":
          return Effect.asVoid(
            runs.get(command.runId)?.channel.offer([{ _tag: "RunQueued", position: command.position }]) ?? Effect.void
          )
        case "RunLost":
        case "Dequeued":
          // RunLost: the thread died; the WorkerGone handler already chose the run's error.
          return finishRun(command.runId, { _tag: "End" })
        case "WakeAt":
          return Effect.gen(function*() {
            const now = yield* Clock.currentTimeMillis
            if (wakeTimer !== undefined) yield* Fiber.interrupt(wakeTimer)
            wakeTimer = yield* FiberSet.run(background, 
              Effect.sleep(Duration.millis(Math.max(0, command.at - now))).pipe(
                Effect.zipRight(Clock.currentTimeMillis),
                Effect.flatMap((at) => Effect.sync(() => void offer({ _tag: "Tick", now: at })))
              )
            )
          })
      }
    }

    let [state, initialCommands] = Scheduler.initial(schedulerConfig, yield* Clock.currentTimeMillis)

    /** Steps the scheduler at the current time (idle times and retirements are measured on that clock). */
    const apply = (event: Scheduler.Event) =>
      Effect.flatMap(Clock.currentTimeMillis, (now) => {
        const [next, commands] = event._tag === "Tick" ? Scheduler.step(state, event) : Scheduler.stepAt(state, now, event)
        state = next
        return Effect.forEach(commands, perform, { discard: true })
      })

    /** Why a thread that is gone ended its run, when it had one. */
    const lostRunError = (runId: string, exit: WorkerExit): RunError => {
      const id = RunId.make(runId)
      return exit._tag === "OutOfMemory"
        ? new ThreadOutOfMemory({ runId: id, heapMb })
        : new WorkerCrashed({
          runId: id,
          exitCode: exit.code,
          reason: `thread exited with code ${exit.code}${exit.error === undefined ? "" : `: ${exit.error}`}`
        })
    }

    /** Subagents that runs on pool threads asked for, by thread and request id. */
    const children = new Map<string, Fiber.RuntimeFiber<void>>()
    const childKey = (threadId: number, requestId: number) => `${threadId}:${requestId}`

    /**
     * A run's `spawn_subagent`: the child is a run of this pool like any other (it may queue, and it counts
     * against the parent's principal's quotas); its events go back to the parent's thread, numbered under its
     * own run id. It stops when the parent gives up on it or the parent's thread goes away.
     */
    const spawnSubagent = (threadId: number, request: Extract<FromWorker, { _tag: "SpawnSubagent" }>) =>
      Effect.gen(function*() {
        const send = (message: ToWorker) => workers.get(threadId)?.post(message)
        const parent = runs.get(request.parentRunId)
        if (parent === undefined || parent.threadId !== threadId) {
          send({
            _tag: "SubagentEnded",
            requestId: request.requestId,
            error: new InvalidRequest({ reason: `run ${request.parentRunId} is not running on this thread` })
          })
          return
        }
        // A parent waits on its child while holding its own thread: a child that had to queue could wait for
        // threads held by parents waiting on children. So a child starts at once or is refused (the model sees
        // a tool error and can go on without it).
        const load = Scheduler.stats(state)
        if (load.idle + load.starting + (poolConfig.maxThreads - load.alive) - load.queued <= 0) {
          send({
            _tag: "SubagentEnded",
            requestId: request.requestId,
            error: new QueueFull({ queueSize: poolConfig.queueSize, retryAfterMs: retryAfterMs() })
          })
          return
        }
        const principal = parent.job.principal ?? "anonymous"
        const child: AgentJob = {
          runId: RunId.make(crypto.randomUUID()),
          agent: "subagent",
          spec: new StartRun({ agent: "subagent", mode: "thread-bound", prompt: request.prompt }),
          model: parent.job.model,
          depth: request.depth,
          principal
        }
        const program = Effect.gen(function*() {
          yield* quota.admit(principal)
          const startedAt = yield* Clock.currentTimeMillis
          let seq = 0
          yield* Stream.runForEachChunk(submit(child), (outputs) =>
            Effect.map(Clock.currentTimeMillis, (at) => {
              const events = Chunk.toReadonlyArray(Chunk.map(outputs, (output) =>
                stamp(
                  output._tag === "RunCompleted" ? { ...output, durationMs: at - startedAt } : output,
                  child.runId,
                  seq++,
                  at
                )))
              send({ _tag: "SubagentEvents", requestId: request.requestId, events })
            }))
        }).pipe(
          Effect.scoped,
          Effect.onExit((exit) =>
            Effect.sync(() => {
              children.delete(childKey(threadId, request.requestId))
              if (Exit.isInterrupted(exit)) return
              const failure = Exit.isFailure(exit) ? Cause.failureOption(exit.cause) : Option.none()
              send({
                _tag: "SubagentEnded",
                requestId: request.requestId,
                ...(Option.isSome(failure) ? { error: failure.value } : {})
              })
            })
          ),
          // The outcome went to the parent's thread above.
          Effect.ignore
        )
        children.set(childKey(threadId, request.requestId), yield* FiberSet.run(background, program))
      })

    /** The parent's thread is gone: its subagents have nobody to report to. */
    const stopChildrenOf = (threadId: number) =>
      Effect.forEach(
        [...children.entries()].filter(([key]) => key.startsWith(`${threadId}:`)),
        ([, fiber]) => Fiber.interruptFork(fiber),
        { discard: true }
      )

    const handleMessage = (threadId: number, message: FromWorker): Effect.Effect<void> => {
      switch (message._tag) {
        case "Ready":
          startFailures = 0
          return apply({ _tag: "ThreadReady", threadId })
        case "Health":
          return Effect.void
        case "Events": {
          const entry = runs.get(message.runId)
          if (entry === undefined || entry.threadId !== threadId) return Effect.void
          if (message.events.some((output) => output._tag === "RunCompleted")) entry.completed = true
          return Effect.asVoid(entry.channel.offer(message.events))
        }
        case "SpawnSubagent":
          return spawnSubagent(threadId, message)
        case "StopSubagent":
          return Effect.suspend(() => {
            const child = children.get(childKey(threadId, message.requestId))
            return child === undefined ? Effect.void : Fiber.interruptFork(child)
          })
        case "Completed":
        case "Failed": {
          const entry = runs.get(message.runId)
          if (entry === undefined || entry.threadId !== threadId) return Effect.void
          const outcome = message._tag === "Completed"
            ? { _tag: "End" } as const
            : { _tag: "Fail", error: message.error } as const
          return Effect.zipRight(finishRun(message.runId, outcome), apply({ _tag: "RunEnded", threadId, reusable: true }))
        }
      }
    }

    const handle = (event: DriverEvent): Effect.Effect<void> => {
      switch (event._tag) {
        case "Message":
          return handleMessage(event.threadId, event.message)
        case "WorkerGone": {
          const { exit, threadId } = event
          workers.delete(threadId)
          runFork(stopChildrenOf(threadId))
          const thread = state.threads.get(threadId)
          if (thread?.status === "starting") startFailures++
          if (thread?.status === "busy" && thread.runId !== undefined) {
            countTermination(exit._tag === "OutOfMemory" ? "outOfMemory" : "crashed")
            const error = lostRunError(thread.runId, exit)
            return Effect.zipRight(
              finishRun(thread.runId, { _tag: "Fail", error }),
              apply({ _tag: "ThreadExited", threadId })
            )
          }
          if (thread?.status !== "stopping") countTermination(exit._tag === "OutOfMemory" ? "outOfMemory" : "crashed")
          if (thread?.status === "starting" && startFailures >= MaxStartFailures) {
            // Threads keep dying at start-up (a broken install, a bad config): fail the waiting runs rather
            // than let them wait for a thread that never comes. Respawning goes on, with back-off.
            const reason = `worker threads fail to start (${startFailures} in a row)` +
              (exit._tag === "Exited" && exit.error !== undefined ? `: ${exit.error}` : "")
            const waiting = [...state.queue]
            return Effect.zipRight(
              apply({ _tag: "ThreadExited", threadId }),
              Effect.forEach(waiting, (runId) =>
                Effect.zipRight(
                  finishRun(runId, {
                    _tag: "Fail",
                    error: new WorkerCrashed({
                      runId: RunId.make(runId),
                      exitCode: exit._tag === "Exited" ? exit.code : null,
                      reason
                    })
                  }),
                  apply({ _tag: "Cancel", runId })
                ), { discard: true })
            )
          }
          return apply({ _tag: "ThreadExited", threadId })
        }
        case "OverQuota": {
          const entry = runs.get(event.runId)
          if (entry === undefined || entry.threadId !== event.threadId) return Effect.void
          countTermination("cpuQuota")
          return Effect.zipRight(
            finishRun(event.runId, { _tag: "Fail", error: event.error }),
            apply({ _tag: "RunEnded", threadId: event.threadId, reusable: false })
          )
        }
        case "Cancel": {
          if (runs.get(event.runId)?.completed === true) return Effect.void
          const thread = Scheduler.threadOf(state, event.runId)
          if (thread !== undefined) countTermination("cancelled")
          return Effect.zipRight(apply(event), finishRun(event.runId, { _tag: "End" }))
        }
        default:
          return apply(event)
      }
    }

    yield* Effect.forEach(initialCommands, perform, { discard: true })
    initialCommands = []
    yield* Queue.take(events).pipe(Effect.flatMap(handle), Effect.forever, Effect.forkScoped)

    // CPU quota: the main thread samples each busy thread's event-loop active time.
    yield* Effect.sync(() => {
      for (const entry of runs.values()) {
        if (entry.threadId === undefined || entry.cpuSince === undefined) continue
        const worker = workers.get(entry.threadId)
        if (worker === undefined) continue
        if (worker.activeMsSince(entry.cpuSince) > cpuTimeMs) {
          offer({
            _tag: "OverQuota",
            threadId: entry.threadId,
            runId: entry.job.runId,
            error: new CpuQuotaExceeded({ runId: entry.job.runId, cpuTimeMs })
          })
        }
      }
    }).pipe(Effect.repeat(Schedule.spaced(Duration.millis(cpuSampleMs(cpuTimeMs)))), Effect.forkScoped)

    // Shutdown: every thread is terminated; the supervisor has already ended the runs.
    yield* Effect.addFinalizer(() =>
      Effect.sync(() => {
        closed = true
        for (const worker of workers.values()) worker.terminate()
      })
    )

    const submit = (job: AgentJob): Stream.Stream<AgentOutput, RunError> =>
      Stream.unwrapScoped(Effect.gen(function*() {
        const channel = yield* Mailbox.make<ReadonlyArray<AgentOutput>, RunError>()
        runs.set(job.runId, { job, channel, threadId: undefined, cpuSince: undefined, dispatchedAt: 0, completed: false })
        offer({ _tag: "Submit", runId: job.runId })
        // However the consumer stops (cancel, timeout, disconnect), the scheduler hears of it; a no-op once ended.
        yield* Effect.addFinalizer(() => Effect.sync(() => offer({ _tag: "Cancel", runId: job.runId })))
        return Mailbox.toStream(channel).pipe(
          Stream.mapChunks((batches) => {
            const entry = runs.get(job.runId)
            const worker = entry?.threadId === undefined ? undefined : workers.get(entry.threadId)
            worker?.post({ _tag: "Credit", runId: job.runId, batches: Chunk.size(batches) })
            return Chunk.flatMap(batches, (batch) => Chunk.fromIterable(batch))
          })
        )
      }))

    const stats = Effect.gen(function*() {
      const now = yield* Clock.currentTimeMillis
      const threads = Array.from(state.threads.values(), (thread): PoolThreadStats => {
        const worker = workers.get(thread.id)
        const entry = thread.runId === undefined ? undefined : runs.get(thread.runId)
        return {
          id: thread.id,
          status: thread.status,
          runId: thread.runId ?? null,
          ageMs: worker === undefined ? 0 : now - worker.startedAt,
          heapUsedBytes: worker?.heapUsedBytes() ?? 0,
          utilization: worker?.utilization().utilization ?? 0,
          runCpuMs: worker !== undefined && entry?.cpuSince !== undefined ? worker.activeMsSince(entry.cpuSince) : 0
        }
      })
      return {
        maxThreads: poolConfig.maxThreads,
        minThreads: poolConfig.minThreads,
        queueSize: poolConfig.queueSize,
        threads,
        queued: state.queue,
        terminations: { ...terminations }
      } satisfies PoolStats
    })

    return ThreadPool.of({ submit, stats })
  })

export const layer = (options: { readonly script?: URL } = {}): Layer.Layer<ThreadPool, never, GatewayConfig | Quota> =>
  Layer.scoped(ThreadPool, make(options))
