/**
 * What the `Health` RPC answers (operators only): the quotas in force and each principal's use of them, a cheap
 * probe of every configured provider, the recent warnings and errors of the gateway's log, and a verdict with its
 * reasons. The richer, slower companion of `GatewayStatus`.
 */
import { Schema } from "effect"
import { LogEntry } from "./LogEntry.js"

/** `healthy`: nothing to do; `degraded`: some runs may fail or wait; `unhealthy`: most new runs will fail. */
export const HealthVerdict = Schema.Literal("healthy", "degraded", "unhealthy")
export type HealthVerdict = typeof HealthVerdict.Type

export class QuotaLimits extends Schema.Class<QuotaLimits>("openclaw/QuotaLimits")({
  maxConcurrentRuns: Schema.Int,
  runsPerMinute: Schema.Int
}) {}

/** One principal's limits (its own, or the defaults) and what it uses of them right now. */
export class PrincipalQuota extends Schema.Class<PrincipalQuota>("openclaw/PrincipalQuota")({
  principal: Schema.String,
  limits: QuotaLimits,
  /** Whether `limits` are the principal's own (`gateway.auth.tokens[].quota`) rather than `quotas`. */
  ownLimits: Schema.Boolean,
  activeRuns: Schema.Int,
  /** Starts in the last 60 s (what `runsPerMinute` counts). */
  startsInWindow: Schema.Int
}) {}

export class QuotaHealth extends Schema.Class<QuotaHealth>("openclaw/QuotaHealth")({
  /** `quotas`: the limits of every principal without its own. */
  defaults: QuotaLimits,
  /** The principals with limits of their own, and every principal with runs or recent starts. */
  principals: Schema.Array(PrincipalQuota)
}) {}

/** The answer of one provider to a cheap authenticated request (its model list). */
export class ProviderProbeResult extends Schema.Class<ProviderProbeResult>("openclaw/ProviderProbeResult")({
  name: Schema.String,
  ok: Schema.Boolean,
  /** What happened, never the key: "HTTP 200", "HTTP 401: ...", "no API key", "no answer within 3000 ms". */
  detail: Schema.String,
  latencyMs: Schema.Number,
  /** Epoch ms of the probe (answers are cached for a few seconds). */
  checkedAt: Schema.Number
}) {}

export class GatewayHealth extends Schema.Class<GatewayHealth>("openclaw/GatewayHealth")({
  verdict: HealthVerdict,
  /** Why the verdict is not `healthy`, one sentence each; empty when it is. */
  reasons: Schema.Array(Schema.String),
  /** The provider of the model runs get when they name none, e.g. "mock". */
  defaultProvider: Schema.String,
  providers: Schema.Array(ProviderProbeResult),
  quotas: QuotaHealth,
  /** The newest warning-and-above entries of the log ring, oldest first. */
  recentErrors: Schema.Array(LogEntry),
  checkedAt: Schema.Number
}) {}
