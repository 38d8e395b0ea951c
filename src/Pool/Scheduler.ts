/**
 * The thread pool's scheduling decisions as a pure state machine: `step(state, event)` returns the next state and the
 * commands the effectful driver (`ThreadPool.ts`) performs. No runtime, no I/O, no timers, so that the property tests
 * can drive it against a reference model (DESIGN.md, decisions 3 and 4).
 *
 * Vocabulary. A thread is *alive* while `starting`, `idle` or `busy`; `stopping` threads were told to terminate and
 * wait for `ThreadExited`. A run is *waiting* while it is in the FIFO queue.
 *
 * Decisions where the contract leaves room:
 * - `stopping` threads do not count against `maxThreads`: a run that ends badly gets its replacement thread at once,
 *   so for the short time a termination takes the process may hold up to `maxThreads` alive threads plus the stopping
 *   ones. "Runs executing" never exceeds `maxThreads`.
 * - Admission: a submitted run is accepted when the runs already waiting are fewer than the places that can take a
 *   run without it waiting for a thread to free up — `idle + starting + (maxThreads - alive)` — plus `queueSize`.
 *   Otherwise `Reject`. So `queueSize` counts only the waiting runs no thread is coming for, and `queueSize = 0`
 *   refuses whenever no thread is idle, starting for it, or spawnable.
 * - Thread choice: idle threads are ordered by `idleSince`, then by id. A run goes to the most recently idle thread
 *   (the largest), retirement takes the oldest idle thread first (the smallest). Only `Submit` ever chooses, since
 *   while runs wait no thread stays idle.
 * - Time is what `Tick`s say: events carry no clock, and `idleSince` is the scheduler's clock at the step the thread
 *   became idle (start-up counts as idle from `ThreadReady`). A stale clock makes `idleSince` earlier than the truth
 *   and so retires threads early: the driver should pass its clock with every event, which `stepAt` does (a `Tick`
 *   then the event, as one step).
 * - Retirement is checked after every step, not only on `Tick`: after any step no idle thread is overdue. With
 *   `idleTimeoutMs = 0` a thread above `minThreads` is terminated as soon as it goes idle. A non-finite timeout never
 *   retires. A pending retirement exists when an idle thread exists and more than `minThreads` threads are alive; its
 *   time is the oldest idle thread's `idleSince + idleTimeoutMs`, always later than `now`.
 * - `WakeAt` is emitted when that time differs from the one before the step (new, or moved); the driver keeps one
 *   timer and replaces it on every `WakeAt`. When a retirement stops being pending no command says so: the timer's
 *   `Tick` is then harmless.
 * - Spawning: after every step the scheduler spawns while fewer than `maxThreads` are alive and either more runs wait
 *   than threads are starting, or fewer than `minThreads` are alive. That is also the rule after a thread dies while
 *   starting: the scheduler asks for a replacement at once (only if runs wait or the minimum is not met). It has no
 *   clock to back off with: the driver delays performing a `Spawn` after start-up failures (for example exponential
 *   backoff), the thread staying `starting` meanwhile so nothing is spawned twice; a driver that gives up cancels
 *   the waiting runs with `Cancel`.
 * - A run id must be unique among the runs waiting or executing: a `Submit` of such an id is ignored. Ended runs are
 *   forgotten, so a later `Submit` may reuse their id.
 * - Any event that does not apply to the state (unknown thread or run, `ThreadReady` of a thread not starting,
 *   `RunEnded` of a thread not busy, a `Tick` that does not move time forward or is not finite) returns the very same
 *   state and no commands.
 * - `initial` clamps a nonsensical config (maxThreads >= 1, 0 <= minThreads <= maxThreads, queueSize >= 0,
 *   idleTimeoutMs >= 0); thread ids start at 1 and are never reused.
 *
 * - Positions: `Queued` gives a run that joins the queue its position (always the last). When runs ahead of waiting
 *   runs leave the queue (dispatched or cancelled), every run behind them moves up: one `QueueMoved` says so, not one
 *   command per waiting run, so a step costs the same however long the queue. The driver reads the new positions
 *   from `state.queue` when it chooses (at most every `positionIntervalMs` of `PoolCore`). A run's position only ever
 *   decreases.
 *
 * Commands of one step come in this order: the event's own command (`Reject`, `Terminate` of a failed or cancelled
 * run's thread, `RunLost`, `Dequeued`), then `Dispatch`es in FIFO order, `Spawn`s, retirement `Terminate`s (oldest
 * first), `QueueMoved` when runs that were waiting before the step moved up, `Queued` for a run that joined the queue,
 * and last at most one `WakeAt`.
 */

export interface SchedulerConfig {
  /** Most threads alive (starting + idle + busy) at once = most runs executing. At least 1. */
  readonly maxThreads: number
  /** Threads kept alive: spawned at start, respawned when lost. 0..maxThreads. */
  readonly minThreads: number
  /** A thread above minThreads idle this long is retired. */
  readonly idleTimeoutMs: number
  /** Most runs waiting with no thread coming for them; the next is refused. At least 0. */
  readonly queueSize: number
}

export type ThreadId = number

export type ThreadStatus = "starting" | "idle" | "busy" | "stopping"

export interface ThreadState {
  readonly id: ThreadId
  readonly status: ThreadStatus
  /** The run executing, while busy. */
  readonly runId?: string
  /** When the thread became idle, while idle. */
  readonly idleSince?: number
}

/**
 * The waiting runs, head first: a window of an append-only buffer that successive states share, so that a step which
 * adds a run at the tail or takes the head copies nothing (copying the whole queue twice per run was most of a step's
 * allocation with many runs waiting). Only a state whose window ends at the buffer's end appends in place; any other
 * copies its window first, so every state keeps seeing its own runs. The buffer also knows where each run was last
 * appended, so that asking whether a run waits (every `Submit`) does not scan the queue.
 */
export class WaitingRuns implements Iterable<string> {
  static readonly empty = WaitingRuns.of([])

  private constructor(
    private readonly buffer: Array<string>,
    /** Index in `buffer` of each run's last append. */
    private readonly appended: Map<string, number>,
    private readonly head: number,
    private readonly end: number
  ) {}

  private static of(runs: Array<string>): WaitingRuns {
    return new WaitingRuns(runs, new Map(runs.map((runId, index) => [runId, index])), 0, runs.length)
  }

  get length(): number {
    return this.end - this.head
  }

  /** The run at `index` (0 = next), if any. */
  at(index: number): string | undefined {
    return index >= 0 && index < this.length ? this.buffer[this.head + index] : undefined
  }

  indexOf(runId: string): number {
    for (let index = this.head; index < this.end; index++) if (this.buffer[index] === runId) return index - this.head
    return -1
  }

  has(runId: string): boolean {
    const last = this.appended.get(runId)
    if (last === undefined || last < this.head) return false
    // Appended again past this window (by a later state, after the run had left): an earlier append may be in it.
    return last < this.end || this.indexOf(runId) >= 0
  }

  /** `runId` joins at the tail. */
  append(runId: string): WaitingRuns {
    // In place while no other state appended past this one and the runs already gone take less than half the buffer.
    if (this.buffer.length === this.end && this.head * 2 < this.end) {
      this.buffer.push(runId)
      this.appended.set(runId, this.end)
      return new WaitingRuns(this.buffer, this.appended, this.head, this.end + 1)
    }
    const runs = this.toArray()
    runs.push(runId)
    return WaitingRuns.of(runs)
  }

  /** Without the head. */
  rest(): WaitingRuns {
    return this.length === 0 ? this : new WaitingRuns(this.buffer, this.appended, this.head + 1, this.end)
  }

  /** Without the run at `index`. */
  without(index: number): WaitingRuns {
    const runs = this.toArray()
    runs.splice(index, 1)
    return WaitingRuns.of(runs)
  }

  toArray(): Array<string> {
    return this.buffer.slice(this.head, this.end)
  }

  *[Symbol.iterator](): Iterator<string> {
    for (let index = this.head; index < this.end; index++) yield this.buffer[index] ?? ""
  }
}

export interface State {
  readonly config: SchedulerConfig
  readonly now: number
  readonly threads: ReadonlyMap<ThreadId, ThreadState>
  /** Waiting runs, head first. */
  readonly queue: WaitingRuns
  readonly nextThreadId: ThreadId
}

export type Event =
  | { readonly _tag: "Submit"; readonly runId: string }
  | { readonly _tag: "ThreadReady"; readonly threadId: ThreadId }
  | { readonly _tag: "RunEnded"; readonly threadId: ThreadId; readonly reusable: boolean }
  | { readonly _tag: "Cancel"; readonly runId: string }
  | { readonly _tag: "ThreadExited"; readonly threadId: ThreadId }
  | { readonly _tag: "Tick"; readonly now: number }

export type Command =
  | { readonly _tag: "Spawn"; readonly threadId: ThreadId }
  | { readonly _tag: "Dispatch"; readonly threadId: ThreadId; readonly runId: string }
  | { readonly _tag: "Terminate"; readonly threadId: ThreadId }
  | { readonly _tag: "Reject"; readonly runId: string }
  | { readonly _tag: "Queued"; readonly runId: string; readonly position: number }
  | { readonly _tag: "QueueMoved" }
  | { readonly _tag: "RunLost"; readonly runId: string }
  | { readonly _tag: "Dequeued"; readonly runId: string }
  | { readonly _tag: "WakeAt"; readonly at: number }

export interface Stats {
  readonly starting: number
  readonly idle: number
  readonly busy: number
  readonly stopping: number
  /** starting + idle + busy */
  readonly alive: number
  /** Runs waiting in the queue. */
  readonly queued: number
}

const clampInt = (n: number, min: number, max: number): number =>
  Number.isNaN(n) ? min : Math.min(max, Math.max(min, Math.floor(n)))

const normalize = (config: SchedulerConfig): SchedulerConfig => {
  const maxThreads = clampInt(config.maxThreads, 1, Number.MAX_SAFE_INTEGER)
  return {
    maxThreads,
    minThreads: clampInt(config.minThreads, 0, maxThreads),
    idleTimeoutMs: Number.isNaN(config.idleTimeoutMs) ? 0 : Math.max(0, config.idleTimeoutMs),
    queueSize: clampInt(config.queueSize, 0, Number.MAX_SAFE_INTEGER)
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Views
// ---------------------------------------------------------------------------------------------------------------

export const stats = (state: State): Stats => {
  let starting = 0
  let idle = 0
  let busy = 0
  let stopping = 0
  for (const thread of state.threads.values()) {
    switch (thread.status) {
      case "starting":
        starting++
        break
      case "idle":
        idle++
        break
      case "busy":
        busy++
        break
      case "stopping":
        stopping++
        break
    }
  }
  return { starting, idle, busy, stopping, alive: starting + idle + busy, queued: state.queue.length }
}

/** 1-based position of a waiting run, undefined when it is not waiting. */
export const positionOf = (state: State, runId: string): number | undefined => {
  const index = state.queue.indexOf(runId)
  return index < 0 ? undefined : index + 1
}

/** The thread executing a run, undefined when it is not executing. */
export const threadOf = (state: State, runId: string): ThreadId | undefined => {
  for (const thread of state.threads.values()) {
    if (thread.status === "busy" && thread.runId === runId) return thread.id
  }
  return undefined
}

/** `a` has been idle longer than `b`: earlier `idleSince`, then lower id. */
const idleLonger = (a: ThreadState, b: ThreadState): boolean =>
  (a.idleSince ?? 0) < (b.idleSince ?? 0) || ((a.idleSince ?? 0) === (b.idleSince ?? 0) && a.id < b.id)

/**
 * The idle thread idle the longest (`oldest`) or the shortest. A loop, not a sorted copy: the driver steps the
 * scheduler twice per run, and allocation was most of a step's cost.
 */
const idleThread = (
  threads: ReadonlyMap<ThreadId, ThreadState>,
  which: "oldest" | "warmest"
): ThreadState | undefined => {
  let found: ThreadState | undefined
  for (const thread of threads.values()) {
    if (thread.status !== "idle") continue
    if (found === undefined || (which === "oldest" ? idleLonger(thread, found) : idleLonger(found, thread))) {
      found = thread
    }
  }
  return found
}

const countAlive = (threads: ReadonlyMap<ThreadId, ThreadState>): number => {
  let alive = 0
  for (const thread of threads.values()) if (thread.status !== "stopping") alive++
  return alive
}

const countStarting = (threads: ReadonlyMap<ThreadId, ThreadState>): number => {
  let starting = 0
  for (const thread of threads.values()) if (thread.status === "starting") starting++
  return starting
}

/** When the next idle retirement is due, if one is pending (see the module comment). */
export const nextWakeAt = (state: State): number | undefined => {
  if (!Number.isFinite(state.config.idleTimeoutMs)) return undefined
  if (countAlive(state.threads) <= state.config.minThreads) return undefined
  const oldest = idleThread(state.threads, "oldest")
  return oldest === undefined ? undefined : (oldest.idleSince ?? 0) + state.config.idleTimeoutMs
}

// ---------------------------------------------------------------------------------------------------------------
// Transitions
// ---------------------------------------------------------------------------------------------------------------

/** A step's working copy: the input state is never mutated. */
interface Draft {
  readonly config: SchedulerConfig
  readonly now: number
  readonly threads: Map<ThreadId, ThreadState>
  queue: WaitingRuns
  nextThreadId: ThreadId
  readonly commands: Array<Command>
  /** The run this step's `Submit` put at the tail of the queue. */
  joined?: string
}

const draft = (state: State, now: number = state.now): Draft => ({
  config: state.config,
  now,
  threads: new Map(state.threads),
  queue: state.queue,
  nextThreadId: state.nextThreadId,
  commands: []
})

const setIdle = (d: Draft, id: ThreadId): void => {
  d.threads.set(id, { id, status: "idle", idleSince: d.now })
}

const setStopping = (d: Draft, id: ThreadId): void => {
  d.threads.set(id, { id, status: "stopping" })
  d.commands.push({ _tag: "Terminate", threadId: id })
}

/** Dispatch waiting runs to idle threads, spawn what is missing, retire what is overdue, report positions. */
const settle = (before: State, d: Draft): readonly [State, ReadonlyArray<Command>] => {
  const { config } = d
  while (d.queue.length > 0) {
    const warmest = idleThread(d.threads, "warmest")
    const runId = d.queue.at(0)
    if (warmest === undefined || runId === undefined) break
    d.queue = d.queue.rest()
    d.threads.set(warmest.id, { id: warmest.id, status: "busy", runId })
    d.commands.push({ _tag: "Dispatch", threadId: warmest.id, runId })
  }
  let alive = countAlive(d.threads)
  let starting = countStarting(d.threads)
  while (alive < config.maxThreads && (d.queue.length > starting || alive < config.minThreads)) {
    const id = d.nextThreadId++
    d.threads.set(id, { id, status: "starting" })
    d.commands.push({ _tag: "Spawn", threadId: id })
    alive++
    starting++
  }
  // Oldest idle first, while overdue and above the minimum.
  for (let oldest = idleThread(d.threads, "oldest"); oldest !== undefined; oldest = idleThread(d.threads, "oldest")) {
    if (alive <= config.minThreads || (oldest.idleSince ?? 0) + config.idleTimeoutMs > d.now) break
    setStopping(d, oldest.id)
    alive--
  }
  // Runs join at the tail and leave without reordering: the runs waiting before and after the step are the first
  // `kept` of the queue, and they moved up iff the last of them did.
  const joined = d.joined !== undefined && d.queue.at(d.queue.length - 1) === d.joined ? d.joined : undefined
  const kept = d.queue.length - (joined === undefined ? 0 : 1)
  if (kept > 0 && before.queue.at(kept - 1) !== d.queue.at(kept - 1)) d.commands.push({ _tag: "QueueMoved" })
  if (joined !== undefined) d.commands.push({ _tag: "Queued", runId: joined, position: d.queue.length })
  const after: State = {
    config,
    now: d.now,
    threads: d.threads,
    queue: d.queue,
    nextThreadId: d.nextThreadId
  }
  const wakeAt = nextWakeAt(after)
  if (wakeAt !== undefined && wakeAt !== nextWakeAt(before)) d.commands.push({ _tag: "WakeAt", at: wakeAt })
  return [after, d.commands]
}

const unchanged = (state: State): readonly [State, ReadonlyArray<Command>] => [state, []]

/** The busy thread executing `runId`, if any. */
const busyWith = (state: State, runId: string): ThreadState | undefined => {
  for (const thread of state.threads.values()) {
    if (thread.status === "busy" && thread.runId === runId) return thread
  }
  return undefined
}

export const initial = (config: SchedulerConfig, now: number): readonly [State, ReadonlyArray<Command>] => {
  const empty: State = { config: normalize(config), now, threads: new Map(), queue: WaitingRuns.empty, nextThreadId: 1 }
  return settle(empty, draft(empty))
}

export const step = (state: State, event: Event): readonly [State, ReadonlyArray<Command>] =>
  event._tag === "Tick" ? tick(state, event.now) : transition(state, event, state.now)

const tick = (state: State, now: number): readonly [State, ReadonlyArray<Command>] => {
  if (!Number.isFinite(now) || !(now > state.now)) return unchanged(state)
  return settle(state, draft(state, now))
}

/** `event`'s step with the clock at `now` (its drafts start there); a refused or senseless event keeps `state`. */
const transition = (
  state: State,
  event: Exclude<Event, { readonly _tag: "Tick" }>,
  now: number
): readonly [State, ReadonlyArray<Command>] => {
  switch (event._tag) {
    case "Submit": {
      const { runId } = event
      if (state.queue.has(runId) || busyWith(state, runId) !== undefined) return unchanged(state)
      const s = stats(state)
      const places = s.idle + s.starting + (state.config.maxThreads - s.alive)
      if (state.queue.length >= places + state.config.queueSize) return [state, [{ _tag: "Reject", runId }]]
      const d = draft(state, now)
      d.queue = d.queue.append(runId)
      d.joined = runId
      return settle(state, d)
    }
    case "ThreadReady": {
      if (state.threads.get(event.threadId)?.status !== "starting") return unchanged(state)
      const d = draft(state, now)
      setIdle(d, event.threadId)
      return settle(state, d)
    }
    case "RunEnded": {
      if (state.threads.get(event.threadId)?.status !== "busy") return unchanged(state)
      const d = draft(state, now)
      if (event.reusable) setIdle(d, event.threadId)
      else setStopping(d, event.threadId)
      return settle(state, d)
    }
    case "Cancel": {
      const index = state.queue.indexOf(event.runId)
      if (index >= 0) {
        const d = draft(state, now)
        d.queue = d.queue.without(index)
        d.commands.push({ _tag: "Dequeued", runId: event.runId })
        return settle(state, d)
      }
      const thread = busyWith(state, event.runId)
      if (thread === undefined) return unchanged(state)
      const d = draft(state, now)
      setStopping(d, thread.id)
      return settle(state, d)
    }
    case "ThreadExited": {
      const thread = state.threads.get(event.threadId)
      if (thread === undefined) return unchanged(state)
      const d = draft(state, now)
      d.threads.delete(thread.id)
      if (thread.status === "busy" && thread.runId !== undefined) {
        d.commands.push({ _tag: "RunLost", runId: thread.runId })
      }
      return settle(state, d)
    }
    default:
      return unchanged(state)
  }
}

/**
 * `Tick{now}` then `event`, as one step: what a driver calls with its clock on every event. The commands are both
 * steps' in order, with at most one `WakeAt` (the pending retirement after the event, when it differs from `state`'s).
 */
export const stepAt = (state: State, now: number, event: Event): readonly [State, ReadonlyArray<Command>] => {
  if (event._tag !== "Tick" && Number.isFinite(now) && now > state.now) {
    const wakeAt = nextWakeAt(state)
    if (wakeAt === undefined || wakeAt > now) {
      // No retirement is due, so the Tick would only move the clock: one step instead of two (the driver's hot path).
      const [after, commands] = transition(state, event, now)
      return [after.now === now ? after : { ...after, now }, commands]
    }
  }
  const [ticked, tickCommands] = step(state, { _tag: "Tick", now })
  const [after, eventCommands] = step(ticked, event)
  if (tickCommands.length === 0) return [after, eventCommands]
  const commands: Array<Command> = [...tickCommands, ...eventCommands].filter((c) => c._tag !== "WakeAt")
  const wakeAt = nextWakeAt(after)
  if (wakeAt !== undefined && wakeAt !== nextWakeAt(state)) commands.push({ _tag: "WakeAt", at: wakeAt })
  return [after, commands]
}
