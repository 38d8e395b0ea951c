/**
 * The lifecycle of runs: validation, one supervised fiber per run, gap-free `seq`, timeouts, cancellation, shutdown
 * and the bounded event buffer the RPC stream drains.
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
  FiberId,
  FiberRef,
  FiberRefs,
  HashMap,
  Mailbox,
  Option,
  Runtime,
  RuntimeFlags,
  Scope,
  Tracer
} from "effect"
import type { KnownAgent } from "../Config/ConfigSchema.js"
import { GatewayConfig } from "../Config/GatewayConfig.js"
import type { AgentEvent } from "../Domain/AgentEvent.js"
import { RunId, type RunMode } from "../Domain/Ids.js"
import {
  AgentFailed,
  AgentNotAllowed,
  GatewayShuttingDown,
  RunCancelled,
  type RunError,
  RunNotFound,
  RunTimedOut
} from "../Domain/RunError.js"
import type { StartRun } from "../Domain/RunSpec.js"
import { RunSummary } from "../Domain/ServerInfo.js"
import * as ProviderRegistry from "../Llm/ProviderRegistry.js"
import * as GatewayMetrics from "../Telemetry/GatewayMetrics.js"
import { agentFor } from "./Agent.js"
import { type AgentOutput, stamp } from "./AgentOutput.js"
import { type AgentJob, AgentRunner } from "./AgentRunner.js"
import * as Deadlines from "./Deadlines.js"
import * as InlineRunner from "./InlineRunner.js"
import * as RunEventBuffer from "./RunEventBuffer.js"
import type { RunEventSink } from "./RunEventSink.js"

export interface StartedRun {
  readonly runId: RunId
  /** The run's numbered events; fails with the run's `RunError`, ends after `RunCompleted`. */
  readonly events: Mailbox.ReadonlyMailbox<AgentEvent, RunError>
}

export interface StartOptions {
  /** Whose run it is (the quota key; only they may cancel it by name). */
  readonly principal?: string
  /** The span of the request, when the caller did not make it its fiber's current span. */
  readonly parentSpan?: Tracer.AnySpan
}

export interface RunsSnapshot {
  readonly runs: ReadonlyArray<RunSummary>
  /** Runs that ended with `RunCompleted` since the gateway started. */
  readonly completed: number
  /** Runs that ended any other way (errors, timeouts, cancellations). */
  readonly failed: number
}

interface ActiveRun {
  readonly runId: RunId
  readonly agent: KnownAgent
  readonly mode: RunMode
  readonly startedAt: number
  /** Whose run it is: only they may cancel it (when the canceller is named). */
  readonly principal: string | undefined
  state: "queued" | "running"
  /**
   * Why an interruption stopped the run: a client (CancelRun, disconnect) unless shutdown or the run's timeout says
   * otherwise.
   */
  stopReason: "client" | "shutdown" | "timeout"
  readonly timeoutMs: number
  /** When the run left the queue and when its first token came, for its span and the metrics. */
  runningAt: number | undefined
  firstTokenAt: number | undefined
  usage: { readonly inputTokens: number; readonly outputTokens: number } | undefined
  /**
   * Set as the fiber is forked, in the same synchronous step as the run's registration: no other fiber can see the
   * run without it.
   */
  fiber: Fiber.RuntimeFiber<void> | undefined
  /** The run's span, ended by `finish`. */
  readonly span: Tracer.Span
}

/** What a run's batch answers its runner when its sink took it at once. */
const moreWanted = Effect.succeed(true)
const noMoreWanted = Effect.succeed(false)

export class RunSupervisor extends Effect.Service<RunSupervisor>()("openclaw/RunSupervisor", {
  scoped: Effect.gen(function*() {
    const { config } = yield* GatewayConfig
    const providers = yield* ProviderRegistry.ProviderRegistry
    const runner = yield* AgentRunner

    const active = new Map<string, ActiveRun>()
    /** The active runs' timeouts, one fiber for all of them. */
    const deadlines = yield* Deadlines.make<ActiveRun>()
    let accepting = true
    let completedCount = 0
    let failedCount = 0

    /** Everything a run may be refused for, checked before anything starts. */
    const accept = Effect.fnUntraced(function*(spec: StartRun) {
      if (!accepting) return yield* new GatewayShuttingDown()
      const requested = spec.agent ?? config.acp.defaultAgent
      const agent = config.acp.allowedAgents.find((allowed) => allowed === requested)
      if (agent === undefined) {
        return yield* new AgentNotAllowed({ agent: requested, allowed: config.acp.allowedAgents })
      }
      const refusal = agentFor(agent).validate(spec)
      if (Option.isSome(refusal)) return yield* refusal.value
      const model = yield* providers.resolve(spec.model)
      return { agent, model }
    })

    /**
     * The run's end in its span (outcome, queue wait, time to first token, tokens) and in the metrics; ends the span.
     * The outcome is an attribute: the span itself ends well, as `withSpan` around the run's fiber ended it.
     */
    const observe = (run: ActiveRun, outcome: "completed" | "failed" | "cancelled" | "timeout", clock: Clock.Clock) => {
      const now = clock.unsafeCurrentTimeMillis()
      const firstTokenMs = run.firstTokenAt === undefined ? undefined : run.firstTokenAt - run.startedAt
      GatewayMetrics.recordRunEnd({ outcome, durationMs: now - run.startedAt, firstTokenMs, tokens: run.usage })
      const { span } = run
      span.attribute("outcome", outcome)
      span.attribute("mode", run.mode)
      if (run.runningAt !== undefined) span.attribute("queueWaitMs", run.runningAt - run.startedAt)
      if (firstTokenMs !== undefined) span.attribute("timeToFirstTokenMs", firstTokenMs)
      if (run.usage !== undefined) {
        span.attribute("tokensIn", run.usage.inputTokens)
        span.attribute("tokensOut", run.usage.outputTokens)
      }
      span.end(clock.unsafeCurrentTimeNanos(), Exit.void)
    }

    /**
     * Completes the run's events (its sink) and its bookkeeping (counters, log, span, metrics); runs exactly once, as
     * the run fiber's exit handler.
     */
    const finish = (run: ActiveRun, events: RunEventSink, exit: Exit.Exit<void, RunError>, clock: Clock.Clock) =>
      Effect.suspend(() => {
        active.delete(run.runId)
        deadlines.remove(run)
        if (Exit.isSuccess(exit)) {
          completedCount++
          observe(run, "completed", clock)
          return Effect.zipRight(Effect.logDebug("run completed"), events.end)
        }
        failedCount++
        const interrupted = Cause.isInterruptedOnly(exit.cause)
        const failure = interrupted && run.stopReason === "timeout"
          ? Option.some(new RunTimedOut({ runId: run.runId, timeoutMs: run.timeoutMs }))
          : Cause.failureOption(exit.cause)
        if (Option.isSome(failure)) {
          observe(run, failure.value._tag === "RunTimedOut" ? "timeout" : "failed", clock)
          return Effect.zipRight(Effect.logWarning(`run failed: ${failure.value.message}`), events.fail(failure.value))
        }
        if (interrupted && run.stopReason !== "timeout") {
          observe(run, "cancelled", clock)
          return Effect.zipRight(
            Effect.logInfo(`run cancelled (${run.stopReason})`),
            events.fail(new RunCancelled({ runId: run.runId, reason: run.stopReason }))
          )
        }
        observe(run, "failed", clock)
        return Effect.zipRight(
          Effect.logError("run died", exit.cause),
          events.fail(new AgentFailed({ runId: run.runId, reason: "internal error" }))
        )
      }).pipe(Effect.asVoid)

    /**
     * The run's fiber: numbers the runner's outputs into its sink (suspending while it is full). Token deltas that
     * arrive together become one `TokenDelta`, so a reader that falls behind gets fewer, larger events rather than a
     * growing backlog; `runs.tokenFlushMs` lets more of them gather before the next one is sent.
     */
    const supervise = (
      run: ActiveRun,
      job: AgentJob,
      events: RunEventSink,
      clock: Clock.Clock
    ): Effect.Effect<void> => {
      let seq = 0
      let sawCompleted = false
      const flushWindow = config.runs.tokenFlushMs === 0 ? undefined : Duration.millis(config.runs.tokenFlushMs)
      // The time of each batch from the run's clock, read as it is: no Effect per batch for it.
      const emit = (outputs: Chunk.Chunk<AgentOutput>) =>
        Effect.suspend(() => {
          const at = clock.unsafeCurrentTimeMillis()
          const numbered: Array<AgentEvent> = []
          let text: string | undefined
          let sentText = false
          const flushText = () => {
            if (text === undefined) return
            run.firstTokenAt ??= at
            numbered.push(stamp({ _tag: "TokenDelta", text }, run.runId, seq + numbered.length, at))
            text = undefined
            sentText = true
          }
          for (const output of outputs) {
            // Anything but a queue position means the run has left the queue.
            if (output._tag !== "RunQueued" && run.state === "queued") {
              run.state = "running"
              run.runningAt = at
            }
            if (output._tag === "TokenDelta") {
              text = text === undefined ? output.text : text + output.text
              continue
            }
            flushText()
            if (output._tag === "RunCompleted") {
              sawCompleted = true
              run.usage = output.usage
              numbered.push(stamp({ ...output, durationMs: at - run.startedAt }, run.runId, seq + numbered.length, at))
              break
            }
            numbered.push(stamp(output, run.runId, seq + numbered.length, at))
          }
          flushText()
          // The sink takes the events now, so `seq` advances with them (after an interruption in a wait for room,
          // nothing else is numbered). Most batches need no wait, and then cost the run no step beyond this one.
          const wait = events.offer(numbered)
          seq += numbered.length
          const offered = wait === undefined
            ? (sawCompleted ? noMoreWanted : moreWanted)
            : Effect.as(wait, !sawCompleted)
          return flushWindow === undefined || !sentText || sawCompleted
            ? offered
            : Effect.zipLeft(offered, Effect.sleep(flushWindow))
        })
      // The run's timeout is kept by `deadlines` (see `startIn`), which interrupts this fiber: no fiber of its own.
      // Its span and log annotations come with the fiber (see `startIn`): no `withSpan` or `annotateLogs` around it.
      return Effect.zipRight(Effect.logDebug("run started"), runner.execute(job, emit)).pipe(
        Effect.zipRight(Effect.suspend(() =>
          sawCompleted
            ? Effect.void
            : Effect.fail(new AgentFailed({ runId: run.runId, reason: "the agent stopped without completing" }))
        )),
        Effect.onExit((exit) => finish(run, events, exit, clock)),
        // The sink carries the error to the client; the fiber itself ends quietly.
        Effect.ignore
      )
    }

    /** Interrupts the run's fiber, if it has one, and waits for it to end. */
    const interruptRun = (run: ActiveRun): Effect.Effect<void> =>
      run.fiber === undefined ? Effect.void : Effect.asVoid(Fiber.interrupt(run.fiber))

    /**
     * Registers the run, forks its fiber and sets its timeout, in one synchronous step: an interrupted `start` leaves
     * no run behind. The fiber starts with its span as the parent of everything in it and its log annotations (run,
     * agent, principal) already in place: set up around the run instead, each cost a fiber-ref update and restore,
     * and the span an `onExit`, per run. It runs at once, in this call, up to its first wait (RunStarted is on its way
     * by then): forked the usual way, it would wait for its turn in the scheduler's queue, behind everything the
     * gateway had to do meanwhile. Its caller has made the scope it lives in interrupt it (see `startIn`).
     */
    const launch = (
      run: ActiveRun,
      job: AgentJob,
      events: RunEventSink,
      runtime: Runtime.Runtime<never>,
      clock: Clock.Clock
    ): void => {
      const { runId, agent, principal } = run
      // The run itself is interruptible, whatever its caller's interruptibility.
      const runRuntime = Runtime.make({
        context: Context.add(runtime.context, Tracer.ParentSpan, run.span),
        runtimeFlags: RuntimeFlags.enable(runtime.runtimeFlags, RuntimeFlags.Interruption),
        fiberRefs: runtime.fiberRefs
      })
      const annotations = (refs: FiberRefs.FiberRefs, fiberId: FiberId.Runtime) =>
        FiberRefs.updateAs(refs, {
          fiberId,
          fiberRef: FiberRef.currentLogAnnotations,
          value: HashMap.mutate(FiberRefs.getOrDefault(refs, FiberRef.currentLogAnnotations), (map) => {
            HashMap.set(map, "runId", runId)
            HashMap.set(map, "agent", agent)
            HashMap.set(map, "principal", principal ?? "anonymous")
          })
        })
      active.set(runId, run)
      const fiber = Runtime.runFork(runRuntime, supervise(run, job, events, clock), { updateRefs: annotations })
      run.fiber = fiber
      // Unless it ended already, within the fork: its timeout interrupts it as itself, which `finish` tells from a
      // client's or the shutdown's interruption by `stopReason`.
      if (active.get(runId) === run) {
        deadlines.add(run, run.startedAt + run.timeoutMs, () => {
          if (active.get(runId) !== run) return
          run.stopReason = "timeout"
          fiber.unsafeInterruptAsFork(fiber.id())
        })
      }
      GatewayMetrics.recordRunStart()
    }

    /**
     * Starts a run whose events go to `events`; its fiber lives in `scope` (the request's, for a client: a scope that
     * ends with the run), so closing that scope interrupts it. No stack captures in its spans (`Effect.fn` takes two
     * per call).
     */
    const startIn = (
      scope: Scope.Scope,
      spec: StartRun,
      events: RunEventSink,
      options?: StartOptions
    ): Effect.Effect<RunId, RunError> =>
      Effect.useSpan(
        "RunSupervisor.start",
        { captureStackTrace: false, ...(options?.parentSpan === undefined ? {} : { parent: options.parentSpan }) },
        (startSpan) =>
          Effect.flatMap(accept(spec), ({ agent, model }) => {
            // A UUID is a valid run id: not validated again.
            const runId = RunId.make(crypto.randomUUID(), true)
            const principal = options?.principal
            startSpan.attribute("runId", runId)
            startSpan.attribute("agent", agent)
            startSpan.attribute("model", model.id)
            const runSpan = Effect.makeSpan("RunSupervisor.run", {
              parent: startSpan,
              captureStackTrace: false,
              attributes: { runId, agent }
            })
            return Effect.flatMap(Effect.zip(runSpan, Effect.runtime<never>()), ([span, runtime]) =>
              Effect.clockWith((clock) => {
                const run: ActiveRun = {
                  runId,
                  agent,
                  mode: spec.mode,
                  startedAt: clock.unsafeCurrentTimeMillis(),
                  principal,
                  state: "queued",
                  stopReason: "client",
                  timeoutMs: spec.timeoutMs ?? config.runs.defaultTimeoutMs,
                  runningAt: undefined,
                  firstTokenAt: undefined,
                  usage: undefined,
                  fiber: undefined,
                  span
                }
                const job: AgentJob = { runId, agent, spec, model, ...(principal === undefined ? {} : { principal }) }
                let scopeClosed = false
                // The run is interrupted when `scope` closes, by a finalizer of `scope` itself, added before the run
                // exists (an interruption in between leaves nothing to stop): `runFork`'s `scope` option forked a
                // child scope per run instead, ~18 Effect steps with its close. A finalizer stays until `scope` closes:
                // the scope is the request's, which ends with its run.
                return Effect.zipRight(
                  Scope.addFinalizer(
                    scope,
                    Effect.suspend(() => {
                      scopeClosed = true
                      return interruptRun(run)
                    })
                  ),
                  Effect.suspend(() => {
                    // A scope closed already has run the finalizer at once: no run for it, and its span ends here.
                    if (scopeClosed) {
                      span.end(clock.unsafeCurrentTimeNanos(), Exit.interrupt(FiberId.none))
                      return Effect.interrupt
                    }
                    launch(run, job, events, runtime, clock)
                    return Effect.succeed(runId)
                  })
                )
              }))
          })
      )

    /**
     * Starts a run, in the caller's scope, whose events its caller reads from a bounded buffer (`runs.eventBuffer`,
     * `eventBufferBytes`).
     */
    const start = (
      spec: StartRun,
      options?: { readonly principal?: string }
    ): Effect.Effect<StartedRun, RunError, Scope.Scope> =>
      Effect.flatMap(Effect.scope, (scope) =>
        Effect.flatMap(
          RunEventBuffer.make({ capacity: config.runs.eventBuffer, budgetBytes: config.runs.eventBufferBytes }),
          (buffer) => Effect.map(startIn(scope, spec, buffer, options), (runId) => ({ runId, events: buffer.events }))
        ))

    const stop = (run: ActiveRun, reason: ActiveRun["stopReason"]) =>
      Effect.suspend(() => {
        run.stopReason = reason
        return interruptRun(run)
      })

    const stopAll = (reason: ActiveRun["stopReason"]) =>
      Effect.suspend(() =>
        Effect.forEach([...active.values()], (run) => stop(run, reason), { concurrency: "unbounded", discard: true })
      )

    /**
     * Interrupts the run; its events fail with `RunCancelled{reason: "client"}` before this returns. A named
     * `principal` may only cancel its own runs: another's is as unknown to it as a run that does not exist.
     */
    const cancel = Effect.fn("RunSupervisor.cancel")(function*(
      runId: string,
      options?: { readonly principal?: string }
    ) {
      const run = active.get(runId)
      if (run === undefined || (options?.principal !== undefined && run.principal !== options.principal)) {
        return yield* new RunNotFound({ runId })
      }
      yield* stop(run, "client")
    })

    const snapshot: Effect.Effect<RunsSnapshot> = Effect.sync(() => ({
      runs: Array.from(active.values(), (run) =>
        new RunSummary({
          runId: run.runId,
          agent: run.agent,
          mode: run.mode,
          state: run.state,
          startedAt: run.startedAt
        })),
      completed: completedCount,
      failed: failedCount
    }))

    /** Refuses new runs, waits up to `graceMs` for the active ones, then cancels the rest with reason "shutdown". */
    const shutdown = Effect.fn("RunSupervisor.shutdown")(function*(graceMs: number) {
      accepting = false
      const fibers = Array.from(active.values(), (run) => run.fiber).filter((fiber) => fiber !== undefined)
      // Shutdown runs in a finalizer (uninterruptible): the wait must be interruptible for the timeout to cut it.
      const finished = Effect.forEach(fibers, Fiber.await, { concurrency: "unbounded", discard: true })
      yield* Effect.interruptible(finished).pipe(Effect.timeout(Duration.millis(graceMs)), Effect.ignore)
      yield* stopAll("shutdown")
    })

    // No run outlives the supervisor, whatever scope its client gave it.
    yield* Effect.addFinalizer(() =>
      Effect.suspend(() => {
        accepting = false
        return stopAll("shutdown")
      })
    )

    return { start, startIn, cancel, snapshot, shutdown } as const
  }),
  dependencies: [ProviderRegistry.layer, InlineRunner.layer]
}) {}
