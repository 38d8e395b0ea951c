/**
 * The `Health` RPC over a real WebSocket to in-process gateways: admin only, the quotas in force and their use, the
 * recent warnings, provider probes against a loopback fake (a refused key makes the default provider unhealthy, a
 * missing key degrades another), the probe cache; and the verdict's rules as a pure function.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Either, Stream } from "effect"
import { GatewayClient, make as makeClient } from "../src/Client/GatewayClient.js"
import { ProviderProbeResult } from "../src/Domain/Health.js"
import { LogEntry } from "../src/Domain/LogEntry.js"
import { errorWindowMs, type HealthFacts, verdictOf } from "../src/Gateway/HealthCheck.js"
import { jsonReply, serve } from "./support/FakeSseServer.js"
import { startInProcessGateway } from "./support/TestGateway.js"

const tokens = { admin: "admin-token-0123456789", writer: "writer-token-0123456789" }
const apiKey = "sk-health-test-0123456789-SECRET"

/** Named tokens (no generated one), no warm threads: these gateways only answer RPCs and inline runs. */
const base = {
  gateway: {
    auth: {
      tokens: [
        { name: "ops", token: tokens.admin, scopes: ["admin"] },
        { name: "app", token: tokens.writer, scopes: ["runs:write", "runs:read"], quota: { runsPerMinute: 5 } }
      ]
    }
  },
  agents: { threadPool: { minThreads: 0 } }
}

const clientOf = (url: string, token: string) => makeClient({ url, token })

describe("Health", () => {
  it.scopedLive("needs the admin scope; reports quotas, their use and recent warnings; healthy on the mock", () =>
    Effect.gen(function*() {
      const gateway = yield* startInProcessGateway({
        ...base,
        models: { providers: { mock: { fail: { afterTokens: 1, message: "scripted boom" } } } }
      })
      const writer = yield* clientOf(gateway.url, tokens.writer)
      const refused = yield* Effect.either(writer.health)
      expect(Either.isLeft(refused) && refused.left._tag === "Forbidden" && refused.left.scope).toBe("admin")

      // A failed run: one start counted against app's own rate limit, one warning in the log.
      const run = yield* Effect.either(Stream.runDrain(writer.startRun({ prompt: "hi", mode: "inline" })))
      expect(Either.isLeft(run)).toBe(true)

      const health = yield* (yield* clientOf(gateway.url, tokens.admin)).health
      expect(health.verdict).toBe("healthy")
      expect(health.reasons).toEqual([])
      expect(health.defaultProvider).toBe("mock")
      expect(health.providers.map(({ name, ok }) => ({ name, ok }))).toEqual([{ name: "mock", ok: true }])
      expect(health.quotas.defaults).toMatchObject({ maxConcurrentRuns: 32, runsPerMinute: 600 })
      expect(health.quotas.principals.map((p) => [p.principal, p.ownLimits, p.limits.runsPerMinute, p.startsInWindow]))
        .toEqual([["ops", false, 600, 0], ["app", true, 5, 1]])
      expect(health.recentErrors.some((entry) => entry.level === "warning" && entry.message.includes("scripted boom")))
        .toBe(true)
      expect(health.recentErrors.every((entry) => entry.level !== "info" && entry.level !== "debug")).toBe(true)
    }))

  it.scopedLive("a default provider that refuses its key: unhealthy; another without a key: degraded; cached", () =>
    Effect.gen(function*() {
      const openai = yield* serve
      openai.reply(jsonReply(401, { error: { message: `Incorrect API key provided: ${apiKey}` } }))
      const gateway = yield* startInProcessGateway({
        ...base,
        models: {
          default: "openai/gpt-4o-mini",
          providers: { openai: { apiKey, baseUrl: `${openai.origin}/v1` }, anthropic: {} }
        }
      })
      const admin = yield* clientOf(gateway.url, tokens.admin)
      const health = yield* admin.health
      expect(health.verdict).toBe("unhealthy")
      expect(health.defaultProvider).toBe("openai")
      expect(health.providers.map(({ name, ok }) => ({ name, ok }))).toEqual([
        { name: "mock", ok: true },
        { name: "openai", ok: false },
        { name: "anthropic", ok: false }
      ])
      expect(health.reasons).toEqual([
        "the default model's provider \"openai\" fails its probe, so runs that name no model fail: " +
        "HTTP 401: Incorrect API key provided: <redacted>",
        "provider \"anthropic\" fails its probe, so its runs fail: no API key (set models.providers.anthropic.apiKey)"
      ])
      expect(JSON.stringify(health)).not.toContain(apiKey)
      expect(openai.requests().map((request) => request.path)).toEqual(["/v1/models"])

      // Asked again at once: the probes' answers are reused, the provider is not asked again.
      const again = yield* admin.health
      expect(again.providers).toEqual(health.providers)
      expect(openai.requests()).toHaveLength(1)
    }))

  it.scopedLive("a provider other than the default's that refuses: degraded", () =>
    Effect.gen(function*() {
      const gateway = yield* startInProcessGateway({ ...base, models: { providers: { anthropic: {} } } })
      const health = yield* Effect.flatMap(GatewayClient, (client) => client.health).pipe(
        Effect.provide(GatewayClient.layer({ url: gateway.url, token: tokens.admin }))
      )
      expect(health.verdict).toBe("degraded")
      expect(health.reasons).toHaveLength(1)
      expect(health.reasons[0]).toContain("provider \"anthropic\"")
    }))
})

describe("verdictOf", () => {
  const now = 1_000_000_000
  const ok = new ProviderProbeResult({ name: "mock", ok: true, detail: "ok", latencyMs: 0, checkedAt: now })
  const thread = (status: "idle" | "busy", id: number) => ({
    id,
    status,
    runId: status === "busy" ? `run-${id}` : null,
    ageMs: 0,
    heapUsedBytes: 0,
    utilization: 0,
    runCpuMs: 0
  })
  const facts = (patch: Partial<HealthFacts> = {}): HealthFacts => ({
    defaultProvider: "mock",
    providers: [ok],
    pool: { maxThreads: 2, minThreads: 1, queueSize: 4, threads: [thread("idle", 1)], queued: [], terminations: {} },
    recentErrors: [],
    now,
    ...patch
  })
  const entry = (level: "warning" | "error" | "fatal", at: number, message = "boom") =>
    new LogEntry({ seq: 0, at, level, message, fiber: "#1", annotations: {} })

  it("healthy when nothing is wrong", () => {
    expect(verdictOf(facts())).toEqual({ verdict: "healthy", reasons: [] })
  })

  it("a full pool is unhealthy; a queue at least half full is degraded", () => {
    const busy = [thread("busy", 1), thread("busy", 2)]
    const full = verdictOf(facts({ pool: { ...facts().pool, threads: busy, queued: ["a", "b", "c", "d"] } }))
    expect(full.verdict).toBe("unhealthy")
    expect(full.reasons[0]).toMatch(/^the thread pool is full \(2 of 2 threads busy, queue 4\/4\)/)
    const half = verdictOf(facts({ pool: { ...facts().pool, threads: busy, queued: ["a", "b"] } }))
    expect(half).toEqual({ verdict: "degraded", reasons: ["runs wait for a thread (queue 2/4, 2 of 2 threads busy)"] })
    expect(verdictOf(facts({ pool: { ...facts().pool, threads: busy, queued: ["a"] } })).verdict).toBe("healthy")
    // No queue at all: every thread busy already refuses the next run.
    const noQueue = { ...facts().pool, queueSize: 0, threads: busy }
    expect(verdictOf(facts({ pool: noQueue })).verdict).toBe("unhealthy")
  })

  it("errors in the last minutes degrade; older errors and warnings do not", () => {
    const recent = verdictOf(facts({ recentErrors: [entry("error", now - 1000, "a"), entry("fatal", now, "b")] }))
    expect(recent).toEqual({ verdict: "degraded", reasons: ["2 errors logged in the last 5 minutes (latest: b)"] })
    const old = [entry("error", now - errorWindowMs - 1), entry("warning", now)]
    expect(verdictOf(facts({ recentErrors: old })).verdict).toBe("healthy")
  })

  it("unhealthy reasons come first", () => {
    const failing = (name: string) => new ProviderProbeResult({ ...ok, name, ok: false, detail: "HTTP 500" })
    const result = verdictOf(facts({
      defaultProvider: "openai",
      providers: [failing("anthropic"), failing("openai")],
      recentErrors: [entry("error", now)]
    }))
    expect(result.verdict).toBe("unhealthy")
    expect(result.reasons.map((reason) => reason.split(" ").slice(0, 2).join(" "))).toEqual([
      "the default",
      "provider \"anthropic\"",
      "1 error"
    ])
  })
})
