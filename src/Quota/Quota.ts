/**
 * Per-principal quotas on runs: how many runs one principal (token) may have active at once, and how many it may
 * start per minute. A contract with several stores behind one tag: in memory now (one gateway), a shared store
 * once gateways scale out. Refusals are `QuotaExceeded` and say when to retry; they never consume budget.
 *
 * Why not Effect's `RateLimiter`: it makes callers wait for a token (a semaphore `take`) instead of refusing
 * them, it cannot say when the next start would be allowed (our `retryAfterMs`), it limits starts only (not
 * concurrency), and each limiter is a scoped background fiber, so one per principal would need its own lifecycle
 * on top of the eviction we need anyway. Its token bucket also lets up to twice the limit start in some 60 s
 * windows. Likewise, per-principal `Semaphore`s (`withPermitsIfAvailable`) would refuse without a hint and still
 * need eviction. Plain counters and a log of start times, updated atomically, do all of it.
 */
import { Clock, Context, Effect, Layer, Scope } from "effect"
import { GatewayConfig } from "../Config/GatewayConfig.js"
import { QuotaExceeded } from "../Domain/RunError.js"

/** The rate window: a start counts against `runsPerMinute` for this long after it happened. */
export const windowMs = 60_000

/**
 * The `retryAfterMs` of a `concurrentRuns` refusal. A slot frees when one of the principal's runs ends, which no
 * store can predict, so this is a polling hint: short enough to retry promptly, long enough not to hammer.
 */
export const concurrencyRetryAfterMs = 1_000

export interface QuotaLimits {
  /** Runs one principal may have active at once (`quotas.maxConcurrentRuns`). */
  readonly maxConcurrentRuns: number
  /** Runs one principal may start in any window of `windowMs` (`quotas.runsPerMinute`). */
  readonly runsPerMinute: number
}

/** What a principal is using right now, for status views. */
export interface QuotaUsage {
  readonly principal: string
  /** Admissions whose scope is still open. */
  readonly activeRuns: number
  /** Admissions in the last `windowMs` (the ones `runsPerMinute` counts). */
  readonly startsInWindow: number
}

export interface QuotaService {
  /**
   * Admits one run of `principal`, or fails with `QuotaExceeded` (and changes nothing). An admission counts as a
   * start for `runsPerMinute` and holds a concurrency slot until the caller's scope closes, however it closes
   * (success, failure, interruption); the slot is released exactly once.
   *
   * When both limits are hit, the refusal names the one with the later `retryAfterMs`, so retrying then is not
   * refused again by the same wait. A principal with its own limits (the per-token quotas of
   * `gateway.auth.tokens`) is held to those, whoever admits its runs (its client's requests, its subagents).
   */
  readonly admit: (principal: string) => Effect.Effect<void, QuotaExceeded, Scope.Scope>
  /**
   * `admit`, its slot held until `scope` closes: the scope handed in, for a caller that made it with
   * `Effect.scopedWith` rather than putting it in its fiber's context (a fiber-ref update and restore per request).
   */
  readonly admitIn: (scope: Scope.Scope, principal: string) => Effect.Effect<void, QuotaExceeded>
  /** One principal's usage (zeros if it has none), or every principal the store currently holds. */
  readonly snapshot: {
    (principal: string): Effect.Effect<QuotaUsage>
    (): Effect.Effect<ReadonlyArray<QuotaUsage>>
  }
}

export class Quota extends Context.Tag("openclaw/Quota")<Quota, QuotaService>() {}

/**
 * The start times of one principal in the window, oldest first: a queue (array + head index, compacted as it
 * drains) so that admitting and expiring are amortised O(1). Holds at most `runsPerMinute` entries, since refused
 * admissions are never recorded.
 */
class StartLog {
  private times: Array<number> = []
  private head = 0

  get size(): number {
    return this.times.length - this.head
  }

  get oldest(): number | undefined {
    return this.times[this.head]
  }

  push(time: number): void {
    this.times.push(time)
  }

  /** Forgets the starts that no longer count at `now`. */
  expire(now: number): void {
    for (let time = this.oldest; time !== undefined && time + windowMs <= now; time = this.oldest) {
      this.head++
    }
    if (this.head === this.times.length) {
      this.times = []
      this.head = 0
    } else if (this.head >= 1024 && this.head * 2 >= this.times.length) {
      this.times = this.times.slice(this.head)
      this.head = 0
    }
  }
}

interface PrincipalState {
  active: number
  readonly starts: StartLog
}

/**
 * The current time in whole milliseconds of the monotonic clock (`Clock.currentTimeNanos`: `process.hrtime` when
 * live, so wall-clock jumps do not reorder the log; the `TestClock`'s instant in tests).
 */
const nowMillis: Effect.Effect<number> = Effect.map(Clock.currentTimeNanos, (nanos) => Number(nanos / 1_000_000n))

/**
 * The in-memory store: a sliding window log per principal. A start at time `t` counts against `runsPerMinute`
 * while `now < t + windowMs`, so the starts in any window of `windowMs` never exceed the limit (unlike a token
 * bucket, which allows a full burst on top of the refill). A refusal for `runsPerMinute` carries the exact wait
 * until the oldest counted start leaves the window: `retryAfterMs = oldest + windowMs - now` (at least 1 ms);
 * admitting after that long succeeds unless other starts or runs took the room meanwhile.
 *
 * Memory is bounded: a principal is dropped once it has no active runs and no starts in the window, when its last
 * run is released or by a sweep of all principals run by `admit` at most once per `windowMs` (so an idle
 * principal lingers at most about two windows), and each log holds at most `runsPerMinute` times.
 *
 * The state is a mutable map that is only read and written inside single `Effect.sync` steps; fibers interleave
 * only between effects, so each admission and release is atomic without a `Ref`, which would have to copy the log
 * on every admission. The admission runs as the acquire of `acquireRelease` (uninterruptible), so a slot taken is
 * always paired with its release finalizer.
 */
export const make = (
  limits: QuotaLimits,
  /** Principals with limits of their own; the others get `limits`. */
  perPrincipal: ReadonlyMap<string, Partial<QuotaLimits>> = new Map()
): Effect.Effect<QuotaService> =>
  Effect.sync(() => {
    const principals = new Map<string, PrincipalState>()
    let lastSweep = Number.NEGATIVE_INFINITY

    const isIdle = (state: PrincipalState) => state.active === 0 && state.starts.size === 0

    const sweep = (now: number) => {
      if (now - lastSweep < windowMs) return
      lastSweep = now
      for (const [principal, state] of principals) {
        state.starts.expire(now)
        if (isIdle(state)) principals.delete(principal)
      }
    }

    /** The refusal for `principal` at `now`, if any; otherwise records the start and takes a slot. */
    const tryAdmit = (principal: string, now: number): QuotaExceeded | undefined => {
      const override = perPrincipal.get(principal) ?? {}
      const maxConcurrentRuns = override.maxConcurrentRuns ?? limits.maxConcurrentRuns
      const runsPerMinute = override.runsPerMinute ?? limits.runsPerMinute
      sweep(now)
      const state = principals.get(principal) ?? { active: 0, starts: new StartLog() }
      state.starts.expire(now)
      const oldest = state.starts.oldest
      const rateWait = state.starts.size >= runsPerMinute && oldest !== undefined
        ? oldest + windowMs - now
        : undefined
      const concurrencyWait = state.active >= maxConcurrentRuns ? concurrencyRetryAfterMs : undefined
      if (rateWait !== undefined && (concurrencyWait === undefined || rateWait >= concurrencyWait)) {
        return new QuotaExceeded({ principal, limit: "runsPerMinute", retryAfterMs: rateWait })
      }
      if (concurrencyWait !== undefined) {
        return new QuotaExceeded({ principal, limit: "concurrentRuns", retryAfterMs: concurrencyWait })
      }
      state.active++
      state.starts.push(now)
      principals.set(principal, state)
      return undefined
    }

    const release = (principal: string, now: number) => {
      const state = principals.get(principal)
      // Cannot be missing: a principal with an active run is never dropped.
      if (state === undefined) return
      state.active--
      state.starts.expire(now)
      if (isIdle(state)) principals.delete(principal)
    }

    const usage = (principal: string, now: number): QuotaUsage => {
      const state = principals.get(principal)
      if (state === undefined) return { principal, activeRuns: 0, startsInWindow: 0 }
      state.starts.expire(now)
      return { principal, activeRuns: state.active, startsInWindow: state.starts.size }
    }

    // No span of its own: it never waits, and the request and the run have theirs. Uninterruptible, as the acquire
    // of an `acquireRelease`: a slot taken always has its release in the scope (run at once if the scope is closed).
    const admitIn = (scope: Scope.Scope, principal: string): Effect.Effect<void, QuotaExceeded> =>
      Effect.uninterruptible(Effect.flatMap(nowMillis, (now) => {
        const refusal = tryAdmit(principal, now)
        if (refusal !== undefined) return Effect.fail(refusal)
        return Scope.addFinalizer(scope, Effect.map(nowMillis, (at) => release(principal, at)))
      }))

    const admit = (principal: string) => Effect.flatMap(Effect.scope, (scope) => admitIn(scope, principal))

    function snapshot(principal: string): Effect.Effect<QuotaUsage>
    function snapshot(): Effect.Effect<ReadonlyArray<QuotaUsage>>
    function snapshot(principal?: string): Effect.Effect<QuotaUsage> | Effect.Effect<ReadonlyArray<QuotaUsage>> {
      return principal === undefined
        ? Effect.map(nowMillis, (now) => Array.from(principals.keys(), (name) => usage(name, now)))
        : Effect.map(nowMillis, (now) => usage(principal, now))
    }

    return { admit, admitIn, snapshot }
  })

/** The in-memory store with the limits of `quotas` in the config, and each named token's own `quota`. */
export const layer: Layer.Layer<Quota, never, GatewayConfig> = Layer.effect(
  Quota,
  Effect.flatMap(GatewayConfig, ({ config }) =>
    make(config.quotas, new Map(config.gateway.auth.tokens.map((token) => [token.name, token.quota ?? {}]))))
)

/** Admits everything and tracks nothing: for tests of other modules that are not about quotas. */
export const unlimited: QuotaService = {
  admit: () => Effect.void,
  admitIn: () => Effect.void,
  snapshot: snapshotNothing
}

function snapshotNothing(principal: string): Effect.Effect<QuotaUsage>
function snapshotNothing(): Effect.Effect<ReadonlyArray<QuotaUsage>>
function snapshotNothing(principal?: string): Effect.Effect<QuotaUsage> | Effect.Effect<ReadonlyArray<QuotaUsage>> {
  return principal === undefined ? Effect.succeed([]) : Effect.succeed({ principal, activeRuns: 0, startsInWindow: 0 })
}

export const layerUnlimited: Layer.Layer<Quota> = Layer.succeed(Quota, unlimited)
