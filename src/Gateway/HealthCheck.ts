/**
 * The gateway's health as the `Health` RPC reports it: provider probes, the quotas in force and their use, the
 * recent warnings and errors of the log, and a verdict. The verdict is a pure function of those facts, so that its
 * rules can be read (and tested) in one place.
 */
import { Chunk, Clock, Effect, Stream } from "effect"
import { defaultModelOf } from "../Config/ConfigSchema.js"
import { GatewayConfig } from "../Config/GatewayConfig.js"
import {
  GatewayHealth,
  type HealthVerdict,
  PrincipalQuota,
  type ProviderProbeResult,
  QuotaHealth,
  QuotaLimits
} from "../Domain/Health.js"
import { type LogEntry, TailLogsRequest } from "../Domain/LogEntry.js"
import { ProviderProbe } from "../Llm/ProviderProbe.js"
import type { PoolStats } from "../Pool/PoolCore.js"
import { ThreadPool } from "../Pool/ThreadPool.js"
import { Quota } from "../Quota/Quota.js"
import { LogRing } from "../Telemetry/LogRing.js"

/** How many of the newest warning-and-above log entries the answer carries. */
export const recentErrorLimit = 10

/** Errors logged this recently make the gateway `degraded`; older ones are only listed. */
export const errorWindowMs = 5 * 60_000

export interface HealthFacts {
  /** The provider of the model runs get when they name none. */
  readonly defaultProvider: string
  readonly providers: ReadonlyArray<ProviderProbeResult>
  readonly pool: PoolStats
  readonly recentErrors: ReadonlyArray<LogEntry>
  readonly now: number
}

/**
 * `unhealthy` when most new runs will fail: the default model's provider fails its probe, or the pool is full
 * (every thread busy and the queue full, so thread-bound runs are refused with `QueueFull`). `degraded` when some
 * will: another provider fails its probe, the queue is at least half full, or errors were logged in the last
 * `errorWindowMs`. Warnings alone (a failed run, a config warning) do not change the verdict.
 */
export const verdictOf = (facts: HealthFacts): { readonly verdict: HealthVerdict; readonly reasons: Array<string> } => {
  const unhealthy: Array<string> = []
  const degraded: Array<string> = []
  for (const probe of facts.providers) {
    if (probe.ok) continue
    if (probe.name === facts.defaultProvider) {
      unhealthy.push(
        `the default model's provider "${probe.name}" fails its probe, so runs that name no model fail: ${probe.detail}`
      )
    } else {
      degraded.push(`provider "${probe.name}" fails its probe, so its runs fail: ${probe.detail}`)
    }
  }
  const { pool } = facts
  const busy = pool.threads.filter((thread) => thread.status === "busy").length
  const queue = `queue ${pool.queued.length}/${pool.queueSize}`
  if (busy >= pool.maxThreads && pool.queued.length >= pool.queueSize) {
    unhealthy.push(
      `the thread pool is full (${busy} of ${pool.maxThreads} threads busy, ${queue}): new thread-bound runs are ` +
        "refused with QueueFull"
    )
  } else if (pool.queued.length > 0 && pool.queued.length * 2 >= pool.queueSize) {
    degraded.push(`runs wait for a thread (${queue}, ${busy} of ${pool.maxThreads} threads busy)`)
  }
  const errors = facts.recentErrors.filter((entry) =>
    (entry.level === "error" || entry.level === "fatal") && facts.now - entry.at <= errorWindowMs
  )
  const latest = errors.at(-1)
  if (latest !== undefined) {
    degraded.push(
      `${errors.length} error${errors.length === 1 ? "" : "s"} logged in the last ${errorWindowMs / 60_000} ` +
        `minutes (latest: ${latest.message})`
    )
  }
  const reasons = [...unhealthy, ...degraded]
  return { verdict: unhealthy.length > 0 ? "unhealthy" : degraded.length > 0 ? "degraded" : "healthy", reasons }
}

export class HealthCheck extends Effect.Service<HealthCheck>()("openclaw/HealthCheck", {
  effect: Effect.gen(function*() {
    const { config } = yield* GatewayConfig
    const probe = yield* ProviderProbe
    const quota = yield* Quota
    const logs = yield* LogRing
    const pool = yield* ThreadPool
    const defaults = new QuotaLimits(config.quotas)
    const defaultModel = defaultModelOf(config)
    const defaultProvider = defaultModel.slice(0, defaultModel.indexOf("/"))
    const named = config.gateway.auth.tokens

    /** The named tokens (in config order), then every other principal with runs or recent starts. */
    const quotas = Effect.map(quota.snapshot(), (usages) => {
      const usageOf = new Map(usages.map((usage) => [usage.principal, usage]))
      const principals = [...named.map((token) => token.name), ...usages.map((usage) => usage.principal)]
      return new QuotaHealth({
        defaults,
        principals: [...new Set(principals)].map((principal) => {
          const own = named.find((token) => token.name === principal)?.quota ?? {}
          const usage = usageOf.get(principal)
          return new PrincipalQuota({
            principal,
            limits: new QuotaLimits({ ...defaults, ...own }),
            ownLimits: own.maxConcurrentRuns !== undefined || own.runsPerMinute !== undefined,
            activeRuns: usage?.activeRuns ?? 0,
            startsInWindow: usage?.startsInWindow ?? 0
          })
        })
      })
    })

    const recentErrors = Effect.map(
      Stream.runCollect(logs.tail(new TailLogsRequest({ level: "warning", limit: recentErrorLimit }))),
      Chunk.toReadonlyArray
    )

    const check = Effect.gen(function*() {
      const [providers, stats, usage, errors] = yield* Effect.all(
        [probe.probeAll, pool.stats, quotas, recentErrors],
        { concurrency: "unbounded" }
      )
      const now = yield* Clock.currentTimeMillis
      const { reasons, verdict } = verdictOf({ defaultProvider, providers, pool: stats, recentErrors: errors, now })
      return new GatewayHealth({
        verdict,
        reasons,
        defaultProvider,
        providers,
        quotas: usage,
        recentErrors: errors,
        checkedAt: now
      })
    }).pipe(Effect.withSpan("HealthCheck.check"))

    return { check }
  }),
  dependencies: [ProviderProbe.Default]
}) {}
