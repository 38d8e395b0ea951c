import { describe, expect, it } from "@effect/vitest"
import { Effect, Metric } from "effect"
import * as GatewayMetrics from "../src/Telemetry/GatewayMetrics.js"

/** The metrics are global: each assertion is on the change across the recording. */
const snapshot = Effect.all({
  started: Metric.value(GatewayMetrics.runsStarted),
  timedOut: Metric.value(Metric.tagged(GatewayMetrics.runsEnded, "outcome", "timeout")),
  completed: Metric.value(Metric.tagged(GatewayMetrics.runsEnded, "outcome", "completed")),
  durations: Metric.value(GatewayMetrics.runDuration),
  firstTokens: Metric.value(GatewayMetrics.timeToFirstToken),
  tokensIn: Metric.value(GatewayMetrics.tokensIn),
  tokensOut: Metric.value(GatewayMetrics.tokensOut)
})

describe("GatewayMetrics", () => {
  it.effect("a run's start and end update the counters, histograms and token counts they name, once each", () =>
    Effect.gen(function*() {
      const before = yield* snapshot
      GatewayMetrics.recordRunStart()
      GatewayMetrics.recordRunEnd({
        outcome: "timeout",
        durationMs: 1500,
        firstTokenMs: 20,
        tokens: { inputTokens: 7, outputTokens: 11 }
      })
      // A run without a first token or usage (failed before its model answered) records neither.
      GatewayMetrics.recordRunEnd({ outcome: "timeout", durationMs: 10, firstTokenMs: undefined, tokens: undefined })
      const after = yield* snapshot
      expect(after.started.count - before.started.count).toBe(1)
      expect(after.timedOut.count - before.timedOut.count).toBe(2)
      expect(after.completed.count - before.completed.count).toBe(0)
      expect(after.durations.count - before.durations.count).toBe(2)
      expect(after.durations.sum - before.durations.sum).toBeCloseTo(1.51)
      expect(after.firstTokens.count - before.firstTokens.count).toBe(1)
      expect(after.firstTokens.sum - before.firstTokens.sum).toBeCloseTo(0.02)
      expect(after.tokensIn.count - before.tokensIn.count).toBe(7)
      expect(after.tokensOut.count - before.tokensOut.count).toBe(11)
    }))
})
