/**
 * The gateway's metrics, as Effect metrics (cheap in-memory updates; exported only when telemetry is on): runs
 * started and ended by outcome, run duration and time to first token, tokens in and out, and gauges of the
 * gateway's own state (connections, runs by state, queue depth, threads by state, thread terminations) that
 * `MetricsSampler` keeps current.
 */
import { Metric, MetricBoundaries } from "effect"

/** 5 ms to ~80 s, doubling. */
const secondsBoundaries = MetricBoundaries.exponential({ start: 0.005, factor: 2, count: 15 })

export const runsStarted = Metric.counter("openclaw_runs_started", {
  description: "Runs accepted by the supervisor",
  incremental: true
})
/** Tagged `outcome`: completed, failed, cancelled, timeout. */
export const runsEnded = Metric.counter("openclaw_runs_ended", { description: "Runs ended, by outcome", incremental: true })

type Outcome = "completed" | "failed" | "cancelled" | "timeout"

/**
 * `runsEnded` tagged with each outcome, made once: a metric tagged per run is a new metric, looked up in the registry
 * by its hashed key at every update (the metrics' updates were ~2.6% of the gateway's main thread at 100 runs).
 */
const runsEndedBy: Readonly<Record<Outcome, Metric.Metric.Counter<number>>> = {
  completed: Metric.tagged(runsEnded, "outcome", "completed"),
  failed: Metric.tagged(runsEnded, "outcome", "failed"),
  cancelled: Metric.tagged(runsEnded, "outcome", "cancelled"),
  timeout: Metric.tagged(runsEnded, "outcome", "timeout")
}
export const runDuration = Metric.histogram(
  "openclaw_run_duration_seconds",
  secondsBoundaries,
  "Wall time of runs, from acceptance to their end"
)
export const timeToFirstToken = Metric.histogram(
  "openclaw_time_to_first_token_seconds",
  secondsBoundaries,
  "Time from a run's acceptance to its first token (queue wait included)"
)
export const tokensIn = Metric.counter("openclaw_tokens_in", { description: "Prompt tokens of completed runs", incremental: true })
export const tokensOut = Metric.counter("openclaw_tokens_out", {
  description: "Completion tokens of completed runs (their rate is tokens/s)",
  incremental: true
})

export const connectionsActive = Metric.gauge("openclaw_connections_active", {
  description: "Open WebSocket connections"
})
/** Tagged `state`: queued, running. */
export const runsActive = Metric.gauge("openclaw_runs_active", { description: "Active runs, by state" })
export const queueDepth = Metric.gauge("openclaw_queue_depth", { description: "Runs waiting for a pool thread" })
/** Tagged `status`: starting, idle, busy, stopping. */
export const threads = Metric.gauge("openclaw_threads", { description: "Pool threads, by status" })
/** Tagged `reason`: cpuQuota, outOfMemory, crashed, cancelled. */
export const threadTerminations = Metric.counter("openclaw_thread_terminations", {
  description: "Pool threads terminated or lost, by reason",
  incremental: true
})

/**
 * No metric labels are set on fibers (`Effect.tagMetrics` is not used): the run metrics are updated in place, not
 * through `Metric.update`, which reads the fiber's labels first (four Effect steps per update, six updates per run).
 */
const noExtraTags: ReadonlyArray<never> = []

/** Counts one accepted run. */
export const recordRunStart = (): void => runsStarted.unsafeUpdate(1, noExtraTags)

/** Records one run's end: outcome, duration, time to first token, tokens. */
export const recordRunEnd = (run: {
  readonly outcome: Outcome
  readonly durationMs: number
  readonly firstTokenMs: number | undefined
  readonly tokens: { readonly inputTokens: number; readonly outputTokens: number } | undefined
}): void => {
  runsEndedBy[run.outcome].unsafeUpdate(1, noExtraTags)
  runDuration.unsafeUpdate(run.durationMs / 1000, noExtraTags)
  if (run.firstTokenMs !== undefined) timeToFirstToken.unsafeUpdate(run.firstTokenMs / 1000, noExtraTags)
  if (run.tokens !== undefined) {
    tokensIn.unsafeUpdate(run.tokens.inputTokens, noExtraTags)
    tokensOut.unsafeUpdate(run.tokens.outputTokens, noExtraTags)
  }
}
