/**
 * The pool's synchronous core: the pure `Scheduler` driven by plain callbacks (worker messages and
 * exits, timers, submissions), performing its commands at once. No fiber hop between a worker's
 * message and the next dispatch: this is the hot path that `bench/pool.ts` compares with piscina.
 * Events that arrive while one is being handled (a command's effect reporting back) are queued and
 * handled right after, in order, so every event sees a consistent state.
 */
import type { EventLoopUtilization } from "node:perf_hooks"
import type { AgentOutput } from "../Agents/AgentOutput.js"
import type { AgentJob } from "../Agents/AgentRunner.js"
import { RunId } from "../Domain/Ids.js"
import { CpuQuotaExceeded, QueueFull, type RunError, ThreadOutOfMemory, WorkerCrashed } from "../Domain/RunError.js"
import * as Scheduler from "./Scheduler.js"
import { CreditBatches, type FromWorker, type ToWorker } from "./WorkerProtocol.js"
import { spawnWorkerThread, type WorkerExit, type WorkerMessage, type WorkerThread } from "./WorkerThread.js"

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

/** Where one run's outputs and end go. `onEnd` is called exactly once. */
export interface RunHandlers {
  /**
   * `credited`: a batch the worker sent against its credit (an `Events` message); the consumer calls `credit` once it
   * has taken it. The last batch (sent with `Completed`) takes no credit.
   */
  readonly onOutputs: (outputs: ReadonlyArray<AgentOutput>, credited: boolean) => void
  /**
   * The run's place in the queue (1 = next): when it joins, then as it moves up, at most every `positionIntervalMs`
   * (the latest place, always lower than the last told). Without it the pool does not track the run's place.
   */
  readonly onQueued?: (position: number) => void
  /** The run was handed to this thread. */
  readonly onDispatched?: (threadId: number) => void
  readonly onEnd: (error: RunError | undefined) => void
}

export interface PoolCoreOptions {
  readonly scheduler: Scheduler.SchedulerConfig
  readonly heapMb: number
  readonly cpuTimeMs: number
  readonly script: URL
  readonly configInput: unknown
  /**
   * How often at most the waiting runs are told their new places; 0: once per event-loop turn. Each telling wakes
   * every waiting run's consumer, so with a long queue of short runs a turn's worth was most of the pool's work.
   */
  readonly positionIntervalMs: number
  /** A worker's run asks for a subagent, or gives up on one. */
  readonly onSubagentMessage: (
    threadId: number,
    message: Extract<FromWorker, { _tag: "SpawnSubagent" | "StopSubagent" }>
  ) => void
  /** A thread is gone: its subagents have nobody to report to. */
  readonly onThreadGone: (threadId: number) => void
  /** A worker's code logged something. */
  readonly onLog: (threadId: number, message: Extract<FromWorker, { _tag: "Log" }>) => void
  /** The clock the scheduler's times are on, in ms (`Date.now` unless a test needs another). */
  readonly now?: () => number
}

type CoreEvent =
  | Scheduler.Event
  | { readonly _tag: "Message"; readonly threadId: number; readonly message: WorkerMessage }
  | { readonly _tag: "WorkerGone"; readonly threadId: number; readonly exit: WorkerExit }
  | { readonly _tag: "OverQuota"; readonly threadId: number; readonly runId: string }

interface RunEntry {
  readonly job: AgentJob
  readonly handlers: RunHandlers
  threadId: number | undefined
  cpuSince: EventLoopUtilization | undefined
  dispatchedAt: number
  /**
   * RunCompleted was forwarded: the consumer may stop before the worker's `Completed` message arrives, and
   * that must not read as a cancellation (which would terminate a healthy thread).
   */
  completed: boolean
  /** Batches the consumer took and the worker has not yet been credited for (posted in lots of `CreditBatches`). */
  taken: number
  /** The place in the queue last told to `onQueued`. */
  told: number | undefined
}

/** Consecutive start-up deaths after which waiting runs are failed instead of kept waiting. */
const MaxStartFailures = 3
/** Back-off of respawns after threads that died while starting: 100 ms doubling up to 5 s. */
const spawnBackoffMs = (failures: number) => failures === 0 ? 0 : Math.min(5000, 100 * 2 ** (failures - 1))

export interface PoolCore {
  readonly submit: (job: AgentJob, handlers: RunHandlers) => void
  /** The consumer stopped (cancel, timeout, disconnect): a queued run leaves the queue, a busy one's thread is terminated. */
  readonly cancel: (runId: string) => void
  /** The consumer took `batches` credited batches: the run's worker may send that many more (credited in lots). */
  readonly credit: (runId: string, batches: number) => void
  readonly post: (threadId: number, message: ToWorker) => void
  readonly runOnThread: (threadId: number, runId: string) => AgentJob | undefined
  /** Terminates the threads of runs over their CPU quota. */
  readonly sampleCpu: () => void
  /** Busy, idle and free threads right now, to decide whether a subagent can start at once. */
  readonly load: () => Scheduler.Stats
  readonly retryAfterMs: () => number
  readonly stats: () => PoolStats
  readonly close: () => void
}

export const makePoolCore = (options: PoolCoreOptions): PoolCore => {
  const { scheduler: config, heapMb, cpuTimeMs } = options
  const now = options.now ?? Date.now
  const runs = new Map<string, RunEntry>()
  const workers = new Map<number, WorkerThread>()
  const terminations: Record<string, number> = {}
  const timers = new Set<ReturnType<typeof setTimeout>>()
  let startFailures = 0
  let averageRunMs = 1000
  let wakeTimer: ReturnType<typeof setTimeout> | undefined
  /** A telling of places is scheduled. */
  let positionsDue = false
  /** Runs submitted with `onQueued` and not ended. */
  let watchingPlaces = 0
  let closed = false
  let state: Scheduler.State
  const pending: Array<CoreEvent> = []
  let handling = false

  const countTermination = (reason: string) => {
    terminations[reason] = (terminations[reason] ?? 0) + 1
  }

  const retryAfterMs = () => Math.min(60_000, Math.max(100, Math.round(averageRunMs / config.maxThreads)))

  /** A timer the core owns; none once closed, so that a closed pool keeps nothing alive. */
  const later = (ms: number, f: () => void) => {
    if (closed) return undefined
    const timer = setTimeout(() => {
      timers.delete(timer)
      f()
    }, ms)
    timers.add(timer)
    return timer
  }

  const finishRun = (runId: string, error: RunError | undefined) => {
    const entry = runs.get(runId)
    if (entry === undefined) return
    runs.delete(runId)
    if (entry.handlers.onQueued !== undefined) watchingPlaces--
    if (entry.threadId !== undefined) averageRunMs = averageRunMs * 0.8 + (now() - entry.dispatchedAt) * 0.2
    entry.handlers.onEnd(error)
  }

  /**
   * Tells the waiting runs their new places, once per `positionIntervalMs` however many runs left the queue meanwhile:
   * with many runs waiting, telling each of them at every dispatch made a dispatch cost O(waiting) wake-ups.
   */
  const tellPositions = () => {
    positionsDue = false
    if (closed) return
    const queue = state.queue
    for (let index = 0; index < queue.length; index++) {
      // A handler changed the queue (cancelled a run, say): the rest are told from the new queue, later.
      if (state.queue !== queue) return tellPositionsLater()
      const runId = queue.at(index)
      const entry = runId === undefined ? undefined : runs.get(runId)
      if (entry?.handlers.onQueued === undefined || entry.told === index + 1) continue
      entry.told = index + 1
      entry.handlers.onQueued(index + 1)
    }
  }

  /** Schedules one telling (a closed core's timers are cleared; a pending immediate finds it closed). */
  const tellPositionsLater = () => {
    if (positionsDue || closed) return
    positionsDue = true
    if (options.positionIntervalMs === 0) setImmediate(tellPositions)
    else later(options.positionIntervalMs, tellPositions)
  }

  const spawn = (threadId: number) => {
    // A closed pool replaces no thread: its scheduler would take each refusal for a start-up death and retry forever.
    if (closed) return
    // During a back-off the scheduler may have given up on this thread.
    if (state.threads.get(threadId)?.status !== "starting") {
      dispatch({ _tag: "WorkerGone", threadId, exit: { _tag: "Exited", code: 0, error: undefined } })
      return
    }
    try {
      workers.set(
        threadId,
        spawnWorkerThread({
          script: options.script,
          init: { threadId, configInput: options.configInput },
          heapMb,
          onMessage: (message) => dispatch({ _tag: "Message", threadId, message }),
          onExit: (exit) => dispatch({ _tag: "WorkerGone", threadId, exit })
        })
      )
    } catch (error) {
      dispatch({ _tag: "WorkerGone", threadId, exit: { _tag: "Exited", code: -1, error: String(error) } })
    }
  }

  const perform = (command: Scheduler.Command): void => {
    switch (command._tag) {
      case "Spawn": {
        const delay = spawnBackoffMs(startFailures)
        if (delay === 0) spawn(command.threadId)
        else later(delay, () => spawn(command.threadId))
        return
      }
      case "Dispatch": {
        const entry = runs.get(command.runId)
        const worker = workers.get(command.threadId)
        if (entry === undefined || worker === undefined) return
        entry.threadId = command.threadId
        entry.cpuSince = worker.utilization()
        entry.dispatchedAt = now()
        entry.handlers.onDispatched?.(command.threadId)
        const { job } = entry
        worker.post({
          _tag: "Run",
          runId: job.runId,
          agent: job.agent,
          spec: job.spec,
          model: job.model.id,
          depth: job.depth ?? 0,
          ...(job.trace === undefined ? {} : { trace: job.trace })
        })
        return
      }
      case "Terminate":
        workers.get(command.threadId)?.terminate()
        return
      case "Reject":
        return finishRun(command.runId, new QueueFull({ queueSize: config.queueSize, retryAfterMs: retryAfterMs() }))
      case "Queued": {
        const entry = runs.get(command.runId)
        if (entry?.handlers.onQueued === undefined) return
        entry.told = command.position
        return entry.handlers.onQueued(command.position)
      }
      case "QueueMoved":
        // Runs collected whole (`ThreadPool.run`) want no places: nothing to tell, no turn to wait for.
        if (watchingPlaces > 0) tellPositionsLater()
        return
      case "RunLost":
      case "Dequeued":
        // RunLost: the WorkerGone handler already ended the run with its error; Dequeued: the consumer left.
        return finishRun(command.runId, undefined)
      case "WakeAt":
        if (wakeTimer !== undefined) {
          clearTimeout(wakeTimer)
          timers.delete(wakeTimer)
        }
        // A timer can fire before the clock reads `at`: Node starts it from the event loop's time, cached when the turn
        // began. Its Tick then says `at`, or the retirement it is for would wait for an event that may never come.
        wakeTimer = later(
          Math.max(0, command.at - now()),
          () => dispatch({ _tag: "Tick", now: Math.max(now(), command.at) })
        )
        return
    }
  }

  /** Steps the scheduler at the current time (idle times and retirements are measured on that clock). */
  const apply = (event: Scheduler.Event) => {
    const [next, commands] = event._tag === "Tick"
      ? Scheduler.step(state, event)
      : Scheduler.stepAt(state, now(), event)
    state = next
    for (const command of commands) perform(command)
  }

  const lostRunError = (runId: string, exit: WorkerExit): RunError =>
    exit._tag === "OutOfMemory"
      ? new ThreadOutOfMemory({ runId: RunId.make(runId), heapMb })
      : new WorkerCrashed({
        runId: RunId.make(runId),
        exitCode: exit.code,
        reason: `thread exited with code ${exit.code}${exit.error === undefined ? "" : `: ${exit.error}`}`
      })

  const handleMessage = (threadId: number, message: WorkerMessage): void => {
    switch (message._tag) {
      case "Ready":
        startFailures = 0
        return apply({ _tag: "ThreadReady", threadId })
      case "Health":
        return
      case "Log":
        return options.onLog(threadId, message)
      case "Events": {
        const entry = runs.get(message.runId)
        if (entry === undefined || entry.threadId !== threadId) return
        if (message.events.some((output) => output._tag === "RunCompleted")) entry.completed = true
        return entry.handlers.onOutputs(message.events, true)
      }
      case "SpawnSubagent":
      case "StopSubagent":
        return options.onSubagentMessage(threadId, message)
      case "Completed":
      case "Failed": {
        const entry = runs.get(message.runId)
        if (entry === undefined || entry.threadId !== threadId) return
        if (message._tag === "Completed" && message.events.length > 0) entry.handlers.onOutputs(message.events, false)
        finishRun(message.runId, message._tag === "Completed" ? undefined : message.error)
        return apply({ _tag: "RunEnded", threadId, reusable: true })
      }
    }
  }

  const handleWorkerGone = (threadId: number, exit: WorkerExit): void => {
    workers.delete(threadId)
    options.onThreadGone(threadId)
    const thread = state.threads.get(threadId)
    if (thread?.status === "starting") startFailures++
    if (thread?.status !== "stopping") countTermination(exit._tag === "OutOfMemory" ? "outOfMemory" : "crashed")
    if (thread?.status === "busy" && thread.runId !== undefined) finishRun(thread.runId, lostRunError(thread.runId, exit))
    apply({ _tag: "ThreadExited", threadId })
    if (thread?.status === "starting" && startFailures >= MaxStartFailures) {
      // Threads keep dying at start-up (a broken install, a bad config): fail the waiting runs rather than
      // let them wait for a thread that never comes. Respawning goes on, with back-off.
      const reason = `worker threads fail to start (${startFailures} in a row)` +
        (exit._tag === "Exited" && exit.error !== undefined ? `: ${exit.error}` : "")
      for (const runId of [...state.queue]) {
        finishRun(
          runId,
          new WorkerCrashed({ runId: RunId.make(runId), exitCode: exit._tag === "Exited" ? exit.code : null, reason })
        )
        apply({ _tag: "Cancel", runId })
      }
    }
  }

  const handle = (event: CoreEvent): void => {
    switch (event._tag) {
      case "Message":
        return handleMessage(event.threadId, event.message)
      case "WorkerGone":
        return handleWorkerGone(event.threadId, event.exit)
      case "OverQuota": {
        const entry = runs.get(event.runId)
        if (entry === undefined || entry.threadId !== event.threadId) return
        countTermination("cpuQuota")
        finishRun(event.runId, new CpuQuotaExceeded({ runId: entry.job.runId, cpuTimeMs }))
        return apply({ _tag: "RunEnded", threadId: event.threadId, reusable: false })
      }
      case "Cancel": {
        if (runs.get(event.runId)?.completed === true) return
        if (Scheduler.threadOf(state, event.runId) !== undefined) countTermination("cancelled")
        apply(event)
        return finishRun(event.runId, undefined)
      }
      default:
        return apply(event)
    }
  }

  const drain = () => {
    if (handling) return
    handling = true
    try {
      for (let next = pending.shift(); next !== undefined; next = pending.shift()) handle(next)
    } finally {
      handling = false
    }
  }

  /** Handles `event` now, or right after the one being handled (commands may report back synchronously). */
  const dispatch = (event: CoreEvent): void => {
    pending.push(event)
    drain()
  }

  const [initialState, initialCommands] = Scheduler.initial(config, now())
  state = initialState
  handling = true
  try {
    for (const command of initialCommands) perform(command)
  } finally {
    handling = false
  }
  drain()

  return {
    submit: (job, handlers) => {
      if (handlers.onQueued !== undefined) watchingPlaces++
      runs.set(job.runId, {
        job,
        handlers,
        threadId: undefined,
        cpuSince: undefined,
        dispatchedAt: 0,
        completed: false,
        taken: 0,
        told: undefined
      })
      dispatch({ _tag: "Submit", runId: job.runId })
    },
    // A run the core no longer knows has ended: nothing to cancel (every consumer cancels on its way out).
    cancel: (runId) => {
      if (runs.has(runId)) dispatch({ _tag: "Cancel", runId })
    },
    credit: (runId, batches) => {
      const entry = runs.get(runId)
      if (entry?.threadId === undefined) return
      entry.taken += batches
      if (entry.taken < CreditBatches) return
      workers.get(entry.threadId)?.post({ _tag: "Credit", runId: entry.job.runId, batches: entry.taken })
      entry.taken = 0
    },
    post: (threadId, message) => workers.get(threadId)?.post(message),
    runOnThread: (threadId, runId) => {
      const entry = runs.get(runId)
      return entry !== undefined && entry.threadId === threadId ? entry.job : undefined
    },
    sampleCpu: () => {
      for (const entry of runs.values()) {
        if (entry.threadId === undefined || entry.cpuSince === undefined) continue
        const worker = workers.get(entry.threadId)
        if (worker !== undefined && worker.activeMsSince(entry.cpuSince) > cpuTimeMs) {
          dispatch({ _tag: "OverQuota", threadId: entry.threadId, runId: entry.job.runId })
        }
      }
    },
    load: () => Scheduler.stats(state),
    retryAfterMs,
    stats: () => {
      // Threads' ages are on the wall clock their start was read from.
      const at = Date.now()
      const threads = Array.from(state.threads.values(), (thread): PoolThreadStats => {
        const worker = workers.get(thread.id)
        const entry = thread.runId === undefined ? undefined : runs.get(thread.runId)
        return {
          id: thread.id,
          status: thread.status,
          runId: thread.runId ?? null,
          ageMs: worker === undefined ? 0 : at - worker.startedAt,
          heapUsedBytes: worker?.heapUsedBytes() ?? 0,
          utilization: worker?.utilization().utilization ?? 0,
          runCpuMs: worker !== undefined && entry?.cpuSince !== undefined ? worker.activeMsSince(entry.cpuSince) : 0
        }
      })
      return {
        maxThreads: config.maxThreads,
        minThreads: config.minThreads,
        queueSize: config.queueSize,
        threads,
        queued: state.queue.toArray(),
        terminations: { ...terminations }
      }
    },
    close: () => {
      closed = true
      for (const timer of timers) clearTimeout(timer)
      timers.clear()
      for (const worker of workers.values()) worker.terminate()
    }
  }
}
