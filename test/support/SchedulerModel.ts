/**
 * A naive reference model of `Pool/Scheduler`, written from its rules rather than its code: plain arrays, mutated in
 * place, every count recomputed by filtering at each use. The property tests run both on the same events and compare.
 */
import type { Command, Event, SchedulerConfig, ThreadState, ThreadStatus } from "../../src/Pool/Scheduler.js"

interface ModelThread {
  readonly id: number
  status: ThreadStatus
  runId: string | undefined
  idleSince: number | undefined
}

export interface Model {
  readonly config: SchedulerConfig
  now: number
  threads: Array<ModelThread>
  queue: Array<string>
  nextId: number
}

const withStatus = (m: Model, status: ThreadStatus): Array<ModelThread> => m.threads.filter((t) => t.status === status)
const aliveCount = (m: Model): number => m.threads.filter((t) => t.status !== "stopping").length
const findThread = (m: Model, id: number): ModelThread | undefined => m.threads.find((t) => t.id === id)
const runningOn = (m: Model, runId: string): ModelThread | undefined =>
  m.threads.find((t) => t.status === "busy" && t.runId === runId)

/** Older idle first: idleSince, then id. */
const older = (a: ModelThread, b: ModelThread): boolean =>
  (a.idleSince ?? 0) < (b.idleSince ?? 0) || ((a.idleSince ?? 0) === (b.idleSince ?? 0) && a.id < b.id)

const wakeAt = (m: Model): number | undefined => {
  const idle = withStatus(m, "idle")
  if (idle.length === 0 || aliveCount(m) <= m.config.minThreads) return undefined
  return Math.min(...idle.map((t) => t.idleSince ?? 0)) + m.config.idleTimeoutMs
}

const terminate = (thread: ModelThread, out: Array<Command>): void => {
  thread.status = "stopping"
  thread.runId = undefined
  thread.idleSince = undefined
  out.push({ _tag: "Terminate", threadId: thread.id })
}

const makeIdle = (m: Model, thread: ModelThread): void => {
  thread.status = "idle"
  thread.runId = undefined
  thread.idleSince = m.now
}

/** Everything that follows any event: dispatch, spawn, retire, positions, the wake-up. */
const settle = (m: Model, queueBefore: ReadonlyArray<string>, wakeBefore: number | undefined, out: Array<Command>) => {
  // FIFO: the head goes to the most recently idle thread, while both exist.
  while (m.queue.length > 0 && withStatus(m, "idle").length > 0) {
    let warmest: ModelThread | undefined
    for (const t of withStatus(m, "idle")) if (warmest === undefined || older(warmest, t)) warmest = t
    const runId = m.queue.shift()
    if (warmest === undefined || runId === undefined) throw new Error("unreachable")
    warmest.status = "busy"
    warmest.runId = runId
    warmest.idleSince = undefined
    out.push({ _tag: "Dispatch", threadId: warmest.id, runId })
  }
  // A thread for every waiting run and the minimum, within the maximum.
  while (
    aliveCount(m) < m.config.maxThreads &&
    (m.queue.length > withStatus(m, "starting").length || aliveCount(m) < m.config.minThreads)
  ) {
    m.threads.push({ id: m.nextId, status: "starting", runId: undefined, idleSince: undefined })
    out.push({ _tag: "Spawn", threadId: m.nextId })
    m.nextId++
  }
  // Retire overdue idle threads, oldest first, never below the minimum.
  for (;;) {
    const due = withStatus(m, "idle").filter((t) => (t.idleSince ?? 0) + m.config.idleTimeoutMs <= m.now)
    if (due.length === 0 || aliveCount(m) <= m.config.minThreads) break
    let oldest: ModelThread | undefined
    for (const t of due) if (oldest === undefined || older(t, oldest)) oldest = t
    if (oldest === undefined) break
    terminate(oldest, out)
  }
  // Positions: one QueueMoved when any run that waited before has a new place; its own for a run that joined.
  if (m.queue.some((runId, index) => queueBefore.includes(runId) && queueBefore.indexOf(runId) !== index)) {
    out.push({ _tag: "QueueMoved" })
  }
  m.queue.forEach((runId, index) => {
    if (!queueBefore.includes(runId)) out.push({ _tag: "Queued", runId, position: index + 1 })
  })
  const wake = wakeAt(m)
  if (wake !== undefined && wake !== wakeBefore) out.push({ _tag: "WakeAt", at: wake })
}

export const initialModel = (config: SchedulerConfig, now: number): readonly [Model, ReadonlyArray<Command>] => {
  const m: Model = { config, now, threads: [], queue: [], nextId: 1 }
  const out: Array<Command> = []
  settle(m, [], undefined, out)
  return [m, out]
}

/** Applies `event` to `m` in place and returns the commands. */
export const stepModel = (m: Model, event: Event): ReadonlyArray<Command> => {
  const out: Array<Command> = []
  const queueBefore = Array.from(m.queue)
  const wakeBefore = wakeAt(m)
  switch (event._tag) {
    case "Submit": {
      if (m.queue.includes(event.runId) || runningOn(m, event.runId) !== undefined) return []
      const nothingComing = withStatus(m, "idle").length === 0 && aliveCount(m) >= m.config.maxThreads
      const waitingWithoutThread = m.queue.length - withStatus(m, "starting").length
      if (nothingComing && waitingWithoutThread >= m.config.queueSize) return [{ _tag: "Reject", runId: event.runId }]
      m.queue.push(event.runId)
      break
    }
    case "ThreadReady": {
      const thread = findThread(m, event.threadId)
      if (thread === undefined || thread.status !== "starting") return []
      makeIdle(m, thread)
      break
    }
    case "RunEnded": {
      const thread = findThread(m, event.threadId)
      if (thread === undefined || thread.status !== "busy") return []
      if (event.reusable) makeIdle(m, thread)
      else terminate(thread, out)
      break
    }
    case "Cancel": {
      const thread = runningOn(m, event.runId)
      if (m.queue.includes(event.runId)) {
        m.queue = m.queue.filter((r) => r !== event.runId)
        out.push({ _tag: "Dequeued", runId: event.runId })
      } else if (thread !== undefined) {
        terminate(thread, out)
      } else {
        return []
      }
      break
    }
    case "ThreadExited": {
      const thread = findThread(m, event.threadId)
      if (thread === undefined) return []
      m.threads = m.threads.filter((t) => t.id !== event.threadId)
      if (thread.status === "busy" && thread.runId !== undefined) out.push({ _tag: "RunLost", runId: thread.runId })
      break
    }
    case "Tick": {
      if (!(event.now > m.now)) return []
      m.now = event.now
      break
    }
  }
  settle(m, queueBefore, wakeBefore, out)
  return out
}

/** The model's threads in the Scheduler's shape, ordered by id. */
export const modelThreads = (m: Model): Array<ThreadState> =>
  Array.from(m.threads)
    .sort((a, b) => a.id - b.id)
    .map((t) => ({
      id: t.id,
      status: t.status,
      ...(t.runId === undefined ? {} : { runId: t.runId }),
      ...(t.idleSince === undefined ? {} : { idleSince: t.idleSince })
    }))
