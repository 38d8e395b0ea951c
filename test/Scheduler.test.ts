/** The pool's pure scheduler: generated driver sessions against a reference model and invariants; tricky cases. */
import { describe, expect, it } from "@effect/vitest"
import { FastCheck } from "effect"
import * as assert from "node:assert/strict"
import {
  type Command,
  type Event,
  initial,
  nextWakeAt,
  positionOf,
  type SchedulerConfig,
  type State,
  stats,
  step,
  stepAt,
  type ThreadState
} from "../src/Pool/Scheduler.js"
import { initialModel, type Model, modelThreads, stepModel } from "./support/SchedulerModel.js"

// ---------------------------------------------------------------------------------------------------------------
// A simulated driver: actions are interpreted against the current state, so any sequence makes a realistic session
// ---------------------------------------------------------------------------------------------------------------

type Action =
  | { readonly kind: "submit" }
  | { readonly kind: "ready"; readonly pick: number }
  | { readonly kind: "end"; readonly pick: number; readonly reusable: boolean }
  | { readonly kind: "cancel"; readonly pick: number }
  | { readonly kind: "crash"; readonly pick: number }
  | { readonly kind: "exitStopping"; readonly pick: number }
  | { readonly kind: "tick"; readonly delta: number }
  | { readonly kind: "nonsense"; readonly pick: number; readonly which: number }

const pick = FastCheck.nat(1000)

const actionArb: FastCheck.Arbitrary<Action> = FastCheck.oneof(
  { weight: 6, arbitrary: FastCheck.constant<Action>({ kind: "submit" }) },
  { weight: 4, arbitrary: pick.map((p): Action => ({ kind: "ready", pick: p })) },
  {
    weight: 5,
    arbitrary: FastCheck.tuple(pick, FastCheck.boolean())
      .map(([p, reusable]): Action => ({ kind: "end", pick: p, reusable }))
  },
  { weight: 2, arbitrary: pick.map((p): Action => ({ kind: "cancel", pick: p })) },
  { weight: 1, arbitrary: pick.map((p): Action => ({ kind: "crash", pick: p })) },
  { weight: 3, arbitrary: pick.map((p): Action => ({ kind: "exitStopping", pick: p })) },
  {
    weight: 3,
    arbitrary: FastCheck.oneof(FastCheck.integer({ min: 0, max: 600 }), FastCheck.integer({ min: -50, max: 1500 }))
      .map((delta): Action => ({ kind: "tick", delta }))
  },
  {
    weight: 1,
    arbitrary: FastCheck.tuple(pick, FastCheck.nat(3))
      .map(([p, which]): Action => ({ kind: "nonsense", pick: p, which }))
  }
)

const configArb: FastCheck.Arbitrary<SchedulerConfig> = FastCheck.integer({ min: 1, max: 6 }).chain((maxThreads) =>
  FastCheck.record({
    maxThreads: FastCheck.constant(maxThreads),
    minThreads: FastCheck.integer({ min: 0, max: maxThreads }),
    idleTimeoutMs: FastCheck.oneof(FastCheck.constant(0), FastCheck.integer({ min: 0, max: 1000 })),
    queueSize: FastCheck.integer({ min: 0, max: 5 })
  })
)

const threadsWith = (state: State, status: ThreadState["status"]): Array<ThreadState> =>
  Array.from(state.threads.values())
    .filter((t) => t.status === status)
    .sort((a, b) => a.id - b.id)

const choose = <A>(items: ReadonlyArray<A>, index: number): A | undefined =>
  items.length === 0 ? undefined : items[index % items.length]

// ---------------------------------------------------------------------------------------------------------------
// The harness: runs the scheduler and the model side by side and checks every step
// ---------------------------------------------------------------------------------------------------------------

interface RunRecord {
  readonly seq: number
  status: "waiting" | "running" | "ended"
  thread: number | undefined
  dispatches: number
  ends: number
}

class Harness {
  state: State
  readonly model: Model
  readonly config: SchedulerConfig
  readonly runs = new Map<string, RunRecord>()
  /** Waiting runs in submission order, and the thread each running run executes on, kept as the driver sees them. */
  waiting: Array<string> = []
  readonly running = new Map<number, string>()
  /** Positions as last announced: by Queued, and read from the queue on QueueMoved (as the driver does). */
  readonly announced = new Map<string, number>()
  lastDispatchedSeq = -1
  submitted = 0
  readonly log: Array<{ readonly event: Event; readonly commands: ReadonlyArray<Command> }> = []

  constructor(config: SchedulerConfig, now = 0) {
    this.config = config
    const [state, commands] = initial(config, now)
    const [model, modelCommands] = initialModel(config, now)
    this.state = state
    this.model = model
    assert.deepStrictEqual(commands, modelCommands)
    const spawns = Array.from({ length: config.minThreads }, (_, i) => ({ _tag: "Spawn", threadId: i + 1 }))
    assert.deepStrictEqual(commands, spawns)
    this.checkState(state)
  }

  private end(runId: string, how: string): void {
    const run = this.runs.get(runId)
    assert.notStrictEqual(run, undefined, `${how}: unknown run ${runId}`)
    if (run === undefined) return
    run.ends++
    assert.strictEqual(run.ends, 1, `${runId} ended twice (${how})`)
    if (run.status === "waiting") this.waiting = this.waiting.filter((r) => r !== runId)
    if (run.thread !== undefined) this.running.delete(run.thread)
    run.status = "ended"
    run.thread = undefined
    this.announced.delete(runId)
  }

  private runningOn(threadId: number): string | undefined {
    return this.running.get(threadId)
  }

  /** Applies one event to both, compares them and checks every invariant; returns the scheduler's commands. */
  send(event: Event): ReadonlyArray<Command> {
    const before = this.state
    const snapshot = Harness.snapshot(before)
    const [after, commands] = step(before, event)
    this.log.push({ event, commands })
    try {
      // The state given to a step is never mutated.
      assert.strictEqual(Harness.snapshot(before), snapshot, "step mutated its input state")
      this.check(before, event, after, commands)
    } catch (error) {
      // The session's last steps, to read a failure without re-running it.
      if (error instanceof Error) {
        error.message += `\nlast steps:\n${
          this.log.slice(-12).map((s) => `${JSON.stringify(s.event)} -> ${JSON.stringify(s.commands)}`).join("\n")
        }`
      }
      throw error
    }
    this.state = after
    return commands
  }

  static snapshot(state: State): string {
    return JSON.stringify([state.now, state.nextThreadId, state.queue.toArray(), Array.from(state.threads.entries())])
  }

  private check(before: State, event: Event, after: State, commands: ReadonlyArray<Command>): void {
    const pre = stats(before)
    const modelCommands = stepModel(this.model, event)

    // Agreement with the reference model.
    assert.deepStrictEqual(commands, modelCommands)
    assert.deepStrictEqual(Array.from(after.threads.values()).sort((a, b) => a.id - b.id), modelThreads(this.model))
    assert.deepStrictEqual(after.queue.toArray(), this.model.queue)
    assert.strictEqual(after.now, this.model.now)
    assert.strictEqual(after.nextThreadId, this.model.nextId)
    // The config never changes.
    assert.strictEqual(after.config, before.config)

    // What the event itself means for the runs, from the driver's point of view.
    const tags = commands.map((c) => c._tag)
    switch (event._tag) {
      case "Submit": {
        const known = this.runs.get(event.runId)
        if (known !== undefined && known.status !== "ended") {
          assert.strictEqual(after, before)
          assert.deepStrictEqual(commands, [])
          break
        }
        const seq = this.submitted++
        this.runs.set(event.runId, { seq, status: "waiting", thread: undefined, dispatches: 0, ends: 0 })
        this.waiting.push(event.runId)
        // Refused exactly when no thread is idle or can come for it and `queueSize` runs already wait without one.
        const full = pre.idle === 0 && pre.alive >= this.config.maxThreads &&
          before.queue.length - pre.starting >= this.config.queueSize
        assert.strictEqual(tags.includes("Reject"), full)
        if (full) assert.deepStrictEqual(commands, [{ _tag: "Reject", runId: event.runId }])
        break
      }
      case "RunEnded": {
        const runId = this.runningOn(event.threadId)
        if (runId !== undefined) this.end(runId, "RunEnded")
        else assert.deepStrictEqual(commands, [])
        if (runId !== undefined && !event.reusable) {
          assert.deepStrictEqual(commands[0], { _tag: "Terminate", threadId: event.threadId })
        }
        break
      }
      case "Cancel": {
        const run = this.runs.get(event.runId)
        if (run?.status === "running" && run.thread !== undefined) {
          assert.deepStrictEqual(commands[0], { _tag: "Terminate", threadId: run.thread })
          this.end(event.runId, "Cancel while busy")
        } else if (run?.status === "waiting") {
          assert.deepStrictEqual(commands[0], { _tag: "Dequeued", runId: event.runId })
        } else {
          assert.strictEqual(after, before)
          assert.deepStrictEqual(commands, [])
        }
        break
      }
      case "ThreadExited": {
        const runId = this.runningOn(event.threadId)
        if (runId !== undefined) assert.deepStrictEqual(commands[0], { _tag: "RunLost", runId })
        else assert.strictEqual(tags.includes("RunLost"), false)
        if (!before.threads.has(event.threadId)) assert.strictEqual(after, before)
        break
      }
      case "ThreadReady": {
        if (before.threads.get(event.threadId)?.status !== "starting") {
          assert.strictEqual(after, before)
          assert.deepStrictEqual(commands, [])
        }
        break
      }
      case "Tick": {
        if (!(event.now > before.now)) {
          assert.strictEqual(after, before)
          assert.deepStrictEqual(commands, [])
        } else {
          // Time passing only ever retires threads.
          assert.strictEqual(tags.every((t) => t === "Terminate" || t === "WakeAt"), true)
        }
        break
      }
    }

    // Each command, checked against the driver's own bookkeeping.
    let wakeAts = 0
    for (const command of commands) {
      switch (command._tag) {
        case "Reject": {
          assert.deepStrictEqual(event, { _tag: "Submit", runId: command.runId })
          this.end(command.runId, "Reject")
          break
        }
        case "Dispatch": {
          const run = this.runs.get(command.runId)
          assert.strictEqual(run?.status, "waiting")
          if (run === undefined) break
          assert.ok(run.seq > this.lastDispatchedSeq, `FIFO: ${command.runId} overtook an earlier run`)
          this.lastDispatchedSeq = run.seq
          run.dispatches++
          assert.strictEqual(run.dispatches, 1)
          run.status = "running"
          run.thread = command.threadId
          this.waiting = this.waiting.filter((r) => r !== command.runId)
          this.running.set(command.threadId, command.runId)
          this.announced.delete(command.runId)
          assert.deepStrictEqual(after.threads.get(command.threadId), {
            id: command.threadId,
            status: "busy",
            runId: command.runId
          })
          break
        }
        case "Queued": {
          // Only a run that joins is told its place this way: at the tail, once.
          assert.deepStrictEqual(event, { _tag: "Submit", runId: command.runId })
          assert.strictEqual(this.runs.get(command.runId)?.status, "waiting")
          assert.strictEqual(this.announced.has(command.runId), false)
          assert.strictEqual(command.position, after.queue.length)
          this.announced.set(command.runId, command.position)
          break
        }
        case "QueueMoved": {
          // Some run that waited before moved up, and no run ever moves back.
          let moved = false
          after.queue.toArray().forEach((runId, index) => {
            const was = this.announced.get(runId)
            assert.notStrictEqual(was, undefined, `${runId} moved before it was told its place`)
            assert.ok(was === undefined || index + 1 <= was, `${runId} moved back`)
            if (was !== index + 1) moved = true
            this.announced.set(runId, index + 1)
          })
          assert.ok(moved, "QueueMoved when no waiting run moved")
          break
        }
        case "Dequeued": {
          assert.deepStrictEqual(event, { _tag: "Cancel", runId: command.runId })
          this.end(command.runId, "Dequeued")
          break
        }
        case "RunLost": {
          assert.strictEqual(event._tag, "ThreadExited")
          this.end(command.runId, "RunLost")
          break
        }
        case "Spawn": {
          assert.ok(command.threadId >= before.nextThreadId, "a thread id is never reused")
          assert.strictEqual(after.threads.get(command.threadId)?.status, "starting")
          break
        }
        case "Terminate": {
          assert.strictEqual(after.threads.get(command.threadId)?.status, "stopping")
          const failedRun = (event._tag === "RunEnded" && !event.reusable && event.threadId === command.threadId) ||
            (event._tag === "Cancel" && before.threads.get(command.threadId)?.runId === event.runId)
          if (!failedRun) {
            // A retirement: the thread was idle (or became idle in this step) for at least idleTimeoutMs.
            const was = before.threads.get(command.threadId)
            const idleSince = was?.status === "idle" ? (was.idleSince ?? 0) : after.now
            assert.ok(idleSince + this.config.idleTimeoutMs <= after.now, `thread ${command.threadId} retired early`)
          }
          break
        }
        case "WakeAt": {
          wakeAts++
          assert.ok(command.at > after.now, "WakeAt in the past")
          assert.strictEqual(command.at, nextWakeAt(after))
          break
        }
      }
    }
    assert.ok(wakeAts <= 1, "more than one WakeAt")
    this.checkState(after)
  }

  /** Invariants of any state reached. */
  private checkState(state: State): void {
    const s = stats(state)
    const { maxThreads, minThreads, idleTimeoutMs, queueSize } = this.config
    assert.ok(s.alive <= maxThreads, `${s.alive} alive > maxThreads`)
    assert.ok(s.alive >= minThreads, `${s.alive} alive < minThreads`)
    assert.ok(s.busy <= maxThreads, `${s.busy} busy > maxThreads`)
    assert.strictEqual(s.queued, state.queue.length)
    // No thread idles while runs wait; a waiting run has a thread coming unless the pool is at its maximum.
    if (s.queued > 0) assert.strictEqual(s.idle, 0)
    if (s.queued > s.starting) assert.strictEqual(s.alive, maxThreads)
    assert.ok(s.queued - s.starting <= queueSize, "more runs wait without a thread than queueSize")
    // The queue holds exactly the waiting runs, in submission order, at the positions last announced.
    const queue = state.queue.toArray()
    assert.deepStrictEqual(queue, this.waiting)
    const positions = queue.map((_, index) => index + 1)
    assert.deepStrictEqual(queue.map((runId) => this.announced.get(runId)), positions, "announced positions")
    assert.deepStrictEqual(queue.map((runId) => positionOf(state, runId)), positions)
    assert.strictEqual(this.announced.size, state.queue.length)
    // Busy threads are exactly the running runs.
    const running = Array.from(this.running.entries()).map(([thread, runId]) => `${thread}:${runId}`).sort()
    assert.deepStrictEqual(threadsWith(state, "busy").map((t) => `${t.id}:${t.runId}`).sort(), running)
    // No retirement overdue, and the pending one (if any) is in the future.
    if (s.alive > minThreads) {
      const overdue = threadsWith(state, "idle").filter((t) => (t.idleSince ?? 0) + idleTimeoutMs <= state.now)
      assert.deepStrictEqual(overdue, [])
    }
    const wake = nextWakeAt(state)
    if (wake !== undefined) assert.ok(wake > state.now, "a retirement is overdue")
  }

  /** Turns a generated action into an event, the way a driver would meet it. */
  eventFor(action: Action): Event {
    const state = this.state
    const ids = Array.from(state.threads.keys()).sort((a, b) => a - b)
    switch (action.kind) {
      case "submit":
        return { _tag: "Submit", runId: `run-${this.runs.size}` }
      case "ready": {
        const thread = choose(threadsWith(state, "starting"), action.pick)
        return { _tag: "ThreadReady", threadId: thread?.id ?? action.pick % (state.nextThreadId + 1) }
      }
      case "end": {
        const thread = choose(threadsWith(state, "busy"), action.pick)
        const threadId = thread?.id ?? action.pick % (state.nextThreadId + 1)
        return { _tag: "RunEnded", threadId, reusable: action.reusable }
      }
      case "cancel": {
        const runId = choose([...this.runs.keys(), "never-submitted"], action.pick) ?? "never-submitted"
        return { _tag: "Cancel", runId }
      }
      case "crash":
        return { _tag: "ThreadExited", threadId: choose([...ids, 0], action.pick) ?? 0 }
      case "exitStopping": {
        const thread = choose(threadsWith(state, "stopping"), action.pick)
        return thread === undefined ? { _tag: "Tick", now: state.now } : { _tag: "ThreadExited", threadId: thread.id }
      }
      case "tick":
        return { _tag: "Tick", now: state.now + action.delta }
      case "nonsense": {
        const live = [...state.queue, ...this.running.values()]
        const notBusy = ids.filter((id) => state.threads.get(id)?.status !== "busy")
        const notStarting = ids.filter((id) => state.threads.get(id)?.status !== "starting")
        switch (action.which) {
          case 0:
            return { _tag: "Submit", runId: choose(live, action.pick) ?? "run-0" }
          case 1:
            return { _tag: "RunEnded", threadId: choose(notBusy, action.pick) ?? 999, reusable: true }
          case 2:
            return { _tag: "ThreadReady", threadId: choose(notStarting, action.pick) ?? 999 }
          default:
            return { _tag: "Tick", now: state.now - 1 - (action.pick % 100) }
        }
      }
    }
  }

  /** Lets every thread start, every run finish and every stopping thread exit; then every run has ended once. */
  drain(): void {
    for (let i = 0; i < 10_000; i++) {
      const stopping = threadsWith(this.state, "stopping")[0]
      const starting = threadsWith(this.state, "starting")[0]
      const busy = threadsWith(this.state, "busy")[0]
      if (stopping !== undefined) this.send({ _tag: "ThreadExited", threadId: stopping.id })
      else if (starting !== undefined) this.send({ _tag: "ThreadReady", threadId: starting.id })
      else if (busy !== undefined) this.send({ _tag: "RunEnded", threadId: busy.id, reusable: true })
      else break
    }
    const s = stats(this.state)
    assert.strictEqual(s.queued + s.busy + s.starting + s.stopping, 0)
    for (const [runId, run] of this.runs) {
      assert.strictEqual(run.ends, 1, `${runId} ended ${run.ends} times`)
      assert.ok(run.dispatches <= 1, `${runId} dispatched twice`)
    }
    // Time passing retires the extra idle threads down to the minimum.
    this.send({ _tag: "Tick", now: this.state.now + this.config.idleTimeoutMs + 1 })
    assert.strictEqual(stats(this.state).alive, this.config.minThreads)
  }
}

/** Mostly submissions: runs wait, the queue grows and moves. */
const busyActionArb: FastCheck.Arbitrary<Action> = FastCheck.oneof(
  { weight: 5, arbitrary: FastCheck.constant<Action>({ kind: "submit" }) },
  { weight: 2, arbitrary: actionArb }
)

const commandTags = (commands: ReadonlyArray<Command>) => commands.map((c) => c._tag)

describe("Scheduler", () => {
  describe("against the reference model", () => {
    it.prop(
      "generated sessions agree with the model and keep every invariant; draining ends every run exactly once",
      { config: configArb, actions: FastCheck.array(actionArb, { maxLength: 200 }) },
      ({ actions, config }) => {
        const harness = new Harness(config)
        for (const action of actions) harness.send(harness.eventFor(action))
        harness.drain()
      },
      { fastCheck: { numRuns: 300 } }
    )

    it.prop(
      "busy pools: long sessions of submissions with few thread events",
      {
        config: configArb,
        actions: FastCheck.array(busyActionArb, { minLength: 50, maxLength: 200 })
      },
      ({ actions, config }) => {
        const harness = new Harness(config)
        for (const action of actions) harness.send(harness.eventFor(action))
        harness.drain()
      },
      { fastCheck: { numRuns: 100 } }
    )

    it.prop(
      "every state stepped again, in any order, gives what it gave the first time (states share the queue's buffer)",
      {
        config: configArb,
        // Mostly submissions, so that runs wait and states append to the queue.
        actions: FastCheck.array(busyActionArb, { maxLength: 150 }),
        order: FastCheck.nat()
      },
      ({ actions, config, order }) => {
        const harness = new Harness(config)
        const steps: Array<{ before: State; seen: string; event: Event; after: string; commands: string }> = []
        for (const action of actions) {
          const before = harness.state
          const event = harness.eventFor(action)
          const commands = harness.send(event)
          steps.push({
            before,
            seen: Harness.snapshot(before),
            event,
            after: Harness.snapshot(harness.state),
            commands: JSON.stringify(commands)
          })
        }
        // Older states appended to again after newer ones did, and newer ones after older ones.
        const shuffled = steps.map((_, index) => steps[(index * 7 + order) % steps.length])
        for (const recorded of [...shuffled, ...[...steps].reverse()]) {
          if (recorded === undefined) continue
          const [after, commands] = step(recorded.before, recorded.event)
          expect(Harness.snapshot(recorded.before)).toBe(recorded.seen)
          expect(Harness.snapshot(after)).toBe(recorded.after)
          expect(JSON.stringify(commands)).toBe(recorded.commands)
          // Another run joining there instead joins behind exactly that state's waiting runs.
          const other = `other-${order++}`
          const [joined, joinCommands] = step(recorded.before, { _tag: "Submit", runId: other })
          const waits = !joinCommands.some((command) => command._tag === "Reject" || command._tag === "Dispatch")
          if (waits) expect(joined.queue.toArray()).toEqual([...recorded.before.queue, other])
        }
      },
      { fastCheck: { numRuns: 200 } }
    )

    it.prop(
      "stepAt is a Tick then the event, with one WakeAt at most",
      {
        config: configArb,
        actions: FastCheck.array(FastCheck.tuple(actionArb, FastCheck.integer({ min: -10, max: 400 })), {
          maxLength: 150
        })
      },
      ({ actions, config }) => {
        const harness = new Harness(config)
        for (const [action, delta] of actions) {
          const event = harness.eventFor(action)
          const before = harness.state
          const [expected, commands] = stepAt(before, before.now + delta, event)
          const steps = [...harness.send({ _tag: "Tick", now: before.now + delta }), ...harness.send(event)]
          expect(Harness.snapshot(expected)).toBe(Harness.snapshot(harness.state))
          const wakeAt = nextWakeAt(harness.state)
          expect(commands).toEqual([
            ...steps.filter((c) => c._tag !== "WakeAt"),
            ...(wakeAt !== undefined && wakeAt !== nextWakeAt(before) ? [{ _tag: "WakeAt", at: wakeAt }] : [])
          ])
        }
      }
    )

    it.prop(
      "senseless events leave the state as it was and command nothing",
      { config: configArb, actions: FastCheck.array(actionArb, { maxLength: 60 }), junk: FastCheck.nat(1000) },
      ({ actions, config, junk }) => {
        const harness = new Harness(config)
        for (const action of actions) harness.send(harness.eventFor(action))
        const state = harness.state
        const unknownThread = state.nextThreadId + junk
        for (
          const event of [
            { _tag: "ThreadReady", threadId: unknownThread },
            { _tag: "RunEnded", threadId: unknownThread, reusable: false },
            { _tag: "ThreadExited", threadId: unknownThread },
            { _tag: "Cancel", runId: `unknown-${junk}` },
            { _tag: "Tick", now: state.now - 1 },
            { _tag: "Tick", now: state.now },
            { _tag: "Tick", now: Number.NaN }
          ] satisfies ReadonlyArray<Event>
        ) {
          expect(step(state, event)).toEqual([state, []])
          expect(step(state, event)[0]).toBe(state)
        }
      }
    )
  })

  describe("examples", () => {
    it("initial spawns minThreads and nothing else", () => {
      const [state, commands] = initial({ maxThreads: 4, minThreads: 2, idleTimeoutMs: 100, queueSize: 1 }, 5)
      expect(commands).toEqual([{ _tag: "Spawn", threadId: 1 }, { _tag: "Spawn", threadId: 2 }])
      expect(stats(state)).toEqual({ starting: 2, idle: 0, busy: 0, stopping: 0, alive: 2, queued: 0 })
      expect(state.now).toBe(5)
    })

    it("queueSize 0: a run is refused whenever no thread is idle or coming for it", () => {
      const h = new Harness({ maxThreads: 1, minThreads: 0, idleTimeoutMs: 1000, queueSize: 0 })
      expect(h.send({ _tag: "Submit", runId: "a" })).toEqual([
        { _tag: "Spawn", threadId: 1 },
        { _tag: "Queued", runId: "a", position: 1 }
      ])
      expect(h.send({ _tag: "Submit", runId: "b" })).toEqual([{ _tag: "Reject", runId: "b" }])
      expect(h.send({ _tag: "ThreadReady", threadId: 1 })).toEqual([{ _tag: "Dispatch", threadId: 1, runId: "a" }])
      expect(h.send({ _tag: "Submit", runId: "c" })).toEqual([{ _tag: "Reject", runId: "c" }])
      expect(h.send({ _tag: "RunEnded", threadId: 1, reusable: true })).toEqual([{ _tag: "WakeAt", at: 1000 }])
      expect(h.send({ _tag: "Submit", runId: "d" })).toEqual([{ _tag: "Dispatch", threadId: 1, runId: "d" }])
    })

    it("queueSize counts only runs with no thread coming", () => {
      const h = new Harness({ maxThreads: 2, minThreads: 0, idleTimeoutMs: 1000, queueSize: 1 })
      expect(commandTags(h.send({ _tag: "Submit", runId: "a" }))).toEqual(["Spawn", "Queued"])
      expect(commandTags(h.send({ _tag: "Submit", runId: "b" }))).toEqual(["Spawn", "Queued"])
      expect(h.send({ _tag: "Submit", runId: "c" })).toEqual([{ _tag: "Queued", runId: "c", position: 3 }])
      expect(h.send({ _tag: "Submit", runId: "d" })).toEqual([{ _tag: "Reject", runId: "d" }])
      // The first thread ready takes the head; the others move up.
      expect(h.send({ _tag: "ThreadReady", threadId: 2 })).toEqual([
        { _tag: "Dispatch", threadId: 2, runId: "a" },
        { _tag: "QueueMoved" }
      ])
      expect(h.state.queue.toArray()).toEqual(["b", "c"])
      expect(h.send({ _tag: "Submit", runId: "e" })).toEqual([{ _tag: "Reject", runId: "e" }])
    })

    it("a run that left the queue and joined again still counts as waiting in an earlier state that holds it", () => {
      const h = new Harness({ maxThreads: 1, minThreads: 1, idleTimeoutMs: 1000, queueSize: 10 })
      h.send({ _tag: "ThreadReady", threadId: 1 })
      for (const runId of ["a", "b", "x", "c", "d", "e", "f", "g"]) h.send({ _tag: "Submit", runId })
      h.send({ _tag: "RunEnded", threadId: 1, reusable: true })
      const earlier = h.state
      expect(earlier.queue.toArray()).toEqual(["x", "c", "d", "e", "f", "g"])
      // x runs, ends, and joins the queue again: the queue's buffer now holds it twice.
      h.send({ _tag: "RunEnded", threadId: 1, reusable: true })
      h.send({ _tag: "RunEnded", threadId: 1, reusable: true })
      expect(commandTags(h.send({ _tag: "Submit", runId: "x" }))).toEqual(["Queued"])
      expect(step(earlier, { _tag: "Submit", runId: "x" })).toEqual([earlier, []])
    })

    it("cancelling a queued run dequeues it and moves up the runs behind it", () => {
      const h = new Harness({ maxThreads: 1, minThreads: 1, idleTimeoutMs: 1000, queueSize: 5 })
      h.send({ _tag: "ThreadReady", threadId: 1 })
      expect(h.send({ _tag: "Submit", runId: "a" })).toEqual([{ _tag: "Dispatch", threadId: 1, runId: "a" }])
      for (const runId of ["b", "c", "d"]) h.send({ _tag: "Submit", runId })
      expect(positionOf(h.state, "d")).toBe(3)
      expect(h.send({ _tag: "Cancel", runId: "b" })).toEqual([{ _tag: "Dequeued", runId: "b" }, { _tag: "QueueMoved" }])
      expect(positionOf(h.state, "d")).toBe(2)
      // Nobody waits behind the last run: nobody moves.
      expect(h.send({ _tag: "Cancel", runId: "d" })).toEqual([{ _tag: "Dequeued", runId: "d" }])
      expect(h.send({ _tag: "Cancel", runId: "d" })).toEqual([])
      expect(positionOf(h.state, "c")).toBe(1)
      expect(positionOf(h.state, "b")).toBeUndefined()
    })

    it("cancelling a busy run terminates its thread and the next run gets a fresh one", () => {
      const h = new Harness({ maxThreads: 1, minThreads: 1, idleTimeoutMs: 1000, queueSize: 5 })
      h.send({ _tag: "ThreadReady", threadId: 1 })
      h.send({ _tag: "Submit", runId: "a" })
      h.send({ _tag: "Submit", runId: "b" })
      expect(h.send({ _tag: "Cancel", runId: "a" })).toEqual([
        { _tag: "Terminate", threadId: 1 },
        { _tag: "Spawn", threadId: 2 }
      ])
      // The late RunEnded of the terminated thread changes nothing; its exit neither.
      expect(h.send({ _tag: "RunEnded", threadId: 1, reusable: true })).toEqual([])
      expect(h.send({ _tag: "ThreadExited", threadId: 1 })).toEqual([])
      expect(h.send({ _tag: "ThreadReady", threadId: 2 })).toEqual([{ _tag: "Dispatch", threadId: 2, runId: "b" }])
      expect(stats(h.state)).toEqual({ starting: 0, idle: 0, busy: 1, stopping: 0, alive: 1, queued: 0 })
    })

    it("a busy thread that crashes loses its run and is replaced", () => {
      const h = new Harness({ maxThreads: 2, minThreads: 1, idleTimeoutMs: 1000, queueSize: 0 })
      h.send({ _tag: "ThreadReady", threadId: 1 })
      h.send({ _tag: "Submit", runId: "a" })
      expect(h.send({ _tag: "ThreadExited", threadId: 1 })).toEqual([
        { _tag: "RunLost", runId: "a" },
        { _tag: "Spawn", threadId: 2 }
      ])
      // Above the minimum and nothing waiting: no replacement.
      h.send({ _tag: "ThreadReady", threadId: 2 })
      h.send({ _tag: "Submit", runId: "b" })
      h.send({ _tag: "Submit", runId: "c" })
      h.send({ _tag: "ThreadReady", threadId: 3 })
      expect(h.send({ _tag: "ThreadExited", threadId: 2 })).toEqual([{ _tag: "RunLost", runId: "b" }])
      expect(h.send({ _tag: "RunEnded", threadId: 2, reusable: true })).toEqual([])
    })

    it("a thread dying at start-up is respawned only while runs wait or the minimum is not met", () => {
      const h = new Harness({ maxThreads: 3, minThreads: 0, idleTimeoutMs: 1000, queueSize: 2 })
      h.send({ _tag: "Submit", runId: "a" })
      expect(h.send({ _tag: "ThreadExited", threadId: 1 })).toEqual([{ _tag: "Spawn", threadId: 2 }])
      h.send({ _tag: "Cancel", runId: "a" })
      expect(h.send({ _tag: "ThreadExited", threadId: 2 })).toEqual([])
      expect(stats(h.state).alive).toBe(0)
      const m = new Harness({ maxThreads: 3, minThreads: 2, idleTimeoutMs: 1000, queueSize: 2 })
      expect(m.send({ _tag: "ThreadExited", threadId: 1 })).toEqual([{ _tag: "Spawn", threadId: 3 }])
    })

    it("a run that ends badly gets its thread terminated, the queue a replacement", () => {
      const h = new Harness({ maxThreads: 1, minThreads: 0, idleTimeoutMs: 1000, queueSize: 1 })
      h.send({ _tag: "Submit", runId: "a" })
      h.send({ _tag: "ThreadReady", threadId: 1 })
      h.send({ _tag: "Submit", runId: "b" })
      expect(h.send({ _tag: "RunEnded", threadId: 1, reusable: false })).toEqual([
        { _tag: "Terminate", threadId: 1 },
        { _tag: "Spawn", threadId: 2 }
      ])
      h.send({ _tag: "ThreadReady", threadId: 2 })
      expect(h.send({ _tag: "RunEnded", threadId: 2, reusable: false })).toEqual([{ _tag: "Terminate", threadId: 2 }])
    })

    it("a submitted run goes to the most recently idle thread", () => {
      const h = new Harness({ maxThreads: 3, minThreads: 3, idleTimeoutMs: 1000, queueSize: 0 })
      h.send({ _tag: "ThreadReady", threadId: 2 })
      h.send({ _tag: "Tick", now: 10 })
      h.send({ _tag: "ThreadReady", threadId: 3 })
      h.send({ _tag: "Tick", now: 20 })
      h.send({ _tag: "ThreadReady", threadId: 1 })
      expect(h.send({ _tag: "Submit", runId: "a" })).toEqual([{ _tag: "Dispatch", threadId: 1, runId: "a" }])
      expect(h.send({ _tag: "Submit", runId: "b" })).toEqual([{ _tag: "Dispatch", threadId: 3, runId: "b" }])
    })

    it("idle threads above the minimum retire after idleTimeoutMs, oldest first, announced by WakeAt", () => {
      const h = new Harness({ maxThreads: 3, minThreads: 1, idleTimeoutMs: 100, queueSize: 0 })
      h.send({ _tag: "ThreadReady", threadId: 1 })
      h.send({ _tag: "Submit", runId: "a" })
      h.send({ _tag: "Submit", runId: "b" })
      h.send({ _tag: "Submit", runId: "c" })
      h.send({ _tag: "ThreadReady", threadId: 2 })
      h.send({ _tag: "ThreadReady", threadId: 3 })
      h.send({ _tag: "Tick", now: 1000 })
      expect(h.send({ _tag: "RunEnded", threadId: 2, reusable: true })).toEqual([{ _tag: "WakeAt", at: 1100 }])
      h.send({ _tag: "Tick", now: 1050 })
      // A later idle thread does not move the earliest retirement.
      expect(h.send({ _tag: "RunEnded", threadId: 3, reusable: true })).toEqual([])
      expect(h.send({ _tag: "RunEnded", threadId: 1, reusable: true })).toEqual([])
      expect(h.send({ _tag: "Tick", now: 1099 })).toEqual([])
      expect(h.send({ _tag: "Tick", now: 1100 })).toEqual([
        { _tag: "Terminate", threadId: 2 },
        { _tag: "WakeAt", at: 1150 }
      ])
      // Both remaining ones are due by now, but only one may go: the minimum is 1. Idle since the same instant, the
      // lower id counts as older.
      expect(h.send({ _tag: "Tick", now: 5000 })).toEqual([{ _tag: "Terminate", threadId: 1 }])
      expect(nextWakeAt(h.state)).toBeUndefined()
      expect(stats(h.state)).toEqual({ starting: 0, idle: 1, busy: 0, stopping: 2, alive: 1, queued: 0 })
      expect(h.send({ _tag: "Submit", runId: "d" })).toEqual([{ _tag: "Dispatch", threadId: 3, runId: "d" }])
    })

    it("reusing an idle thread moves the pending wake-up to the next one", () => {
      const h = new Harness({ maxThreads: 2, minThreads: 0, idleTimeoutMs: 100, queueSize: 0 })
      h.send({ _tag: "Submit", runId: "a" })
      h.send({ _tag: "Submit", runId: "b" })
      h.send({ _tag: "ThreadReady", threadId: 1 })
      h.send({ _tag: "ThreadReady", threadId: 2 })
      expect(h.send({ _tag: "RunEnded", threadId: 1, reusable: true })).toEqual([{ _tag: "WakeAt", at: 100 }])
      h.send({ _tag: "Tick", now: 30 })
      expect(h.send({ _tag: "RunEnded", threadId: 2, reusable: true })).toEqual([])
      // The most recent idle thread (2) is taken; the pending retirement stays thread 1's.
      expect(h.send({ _tag: "Submit", runId: "c" })).toEqual([{ _tag: "Dispatch", threadId: 2, runId: "c" }])
      h.send({ _tag: "Submit", runId: "d" })
      expect(nextWakeAt(h.state)).toBeUndefined()
      expect(h.send({ _tag: "RunEnded", threadId: 1, reusable: true })).toEqual([{ _tag: "WakeAt", at: 130 }])
    })

    it("idleTimeoutMs 0 retires a thread above the minimum as soon as it is idle", () => {
      const h = new Harness({ maxThreads: 2, minThreads: 1, idleTimeoutMs: 0, queueSize: 0 })
      h.send({ _tag: "ThreadReady", threadId: 1 })
      h.send({ _tag: "Submit", runId: "a" })
      h.send({ _tag: "Submit", runId: "b" })
      h.send({ _tag: "ThreadReady", threadId: 2 })
      expect(h.send({ _tag: "RunEnded", threadId: 1, reusable: true })).toEqual([{ _tag: "Terminate", threadId: 1 }])
      expect(h.send({ _tag: "RunEnded", threadId: 2, reusable: true })).toEqual([])
      expect(stats(h.state)).toEqual({ starting: 0, idle: 1, busy: 0, stopping: 1, alive: 1, queued: 0 })
    })

    it("stopping threads do not count against maxThreads", () => {
      const h = new Harness({ maxThreads: 1, minThreads: 0, idleTimeoutMs: 1000, queueSize: 1 })
      h.send({ _tag: "Submit", runId: "a" })
      h.send({ _tag: "ThreadReady", threadId: 1 })
      h.send({ _tag: "RunEnded", threadId: 1, reusable: false })
      expect(commandTags(h.send({ _tag: "Submit", runId: "b" }))).toEqual(["Spawn", "Queued"])
      expect(stats(h.state)).toEqual({ starting: 1, idle: 0, busy: 0, stopping: 1, alive: 1, queued: 1 })
    })

    it("a duplicate Submit of a live run is ignored; an ended run's id may be reused", () => {
      const h = new Harness({ maxThreads: 1, minThreads: 1, idleTimeoutMs: 1000, queueSize: 1 })
      h.send({ _tag: "ThreadReady", threadId: 1 })
      h.send({ _tag: "Submit", runId: "a" })
      const before = h.state
      expect(step(before, { _tag: "Submit", runId: "a" })).toEqual([before, []])
      h.send({ _tag: "RunEnded", threadId: 1, reusable: true })
      expect(step(h.state, { _tag: "Submit", runId: "a" })[1]).toEqual([{ _tag: "Dispatch", threadId: 1, runId: "a" }])
    })

    it("steps never mutate the state they are given", () => {
      const [state] = initial({ maxThreads: 2, minThreads: 1, idleTimeoutMs: 10, queueSize: 1 }, 0)
      const threads = Array.from(state.threads.entries())
      const [next] = step(state, { _tag: "ThreadReady", threadId: 1 })
      step(next, { _tag: "Submit", runId: "a" })
      expect(Array.from(state.threads.entries())).toEqual(threads)
      expect(state.threads.get(1)?.status).toBe("starting")
      expect(next.threads.get(1)?.status).toBe("idle")
      expect(next.queue.toArray()).toEqual([])
    })

    it("initial clamps a nonsensical config", () => {
      const [state, commands] = initial({ maxThreads: 0, minThreads: 5, idleTimeoutMs: -1, queueSize: -3 }, 0)
      expect(state.config).toEqual({ maxThreads: 1, minThreads: 1, idleTimeoutMs: 0, queueSize: 0 })
      expect(commands).toEqual([{ _tag: "Spawn", threadId: 1 }])
    })
  })
})
