/**
 * Keeps the gauges of `GatewayMetrics` current by sampling the gateway's state (connections, runs, pool) on an
 * interval; built only when telemetry is on, so an unobserved gateway pays nothing.
 */
import { Duration, Effect, Metric, Schedule } from "effect"
import { RunSupervisor } from "../Agents/RunSupervisor.js"
import { RpcWebSocket } from "../Gateway/RpcWebSocket.js"
import { ThreadPool } from "../Pool/ThreadPool.js"
import { connectionsActive, queueDepth, runsActive, threads, threadTerminations } from "./GatewayMetrics.js"

const threadStatuses = ["starting", "idle", "busy", "stopping"] as const

/** Samples the gauges every `intervalMs` until the scope closes (started only when telemetry is on). */
export const start = (intervalMs: number) =>
  Effect.gen(function*() {
    const supervisor = yield* RunSupervisor
    const pool = yield* ThreadPool
    const sockets = yield* RpcWebSocket
    const reported: Record<string, number> = {}
    const sample = Effect.gen(function*() {
      const snapshot = yield* supervisor.snapshot
      const stats = yield* pool.stats
      yield* Metric.set(connectionsActive, yield* sockets.connectionCount)
      for (const state of ["queued", "running"] as const) {
        yield* Metric.set(Metric.tagged(runsActive, "state", state), snapshot.runs.filter((r) => r.state === state).length)
      }
      yield* Metric.set(queueDepth, stats.queued.length)
      for (const status of threadStatuses) {
        yield* Metric.set(Metric.tagged(threads, "status", status), stats.threads.filter((t) => t.status === status).length)
      }
      // The pool counts terminations since start; the counter takes what is new since the last sample.
      for (const [reason, count] of Object.entries(stats.terminations)) {
        const delta = count - (reported[reason] ?? 0)
        reported[reason] = count
        if (delta > 0) yield* Metric.incrementBy(Metric.tagged(threadTerminations, "reason", reason), delta)
      }
    })
    yield* sample.pipe(Effect.repeat(Schedule.spaced(Duration.millis(intervalMs))), Effect.forkScoped)
  })
