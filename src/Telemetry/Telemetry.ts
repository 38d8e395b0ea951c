/**
 * Traces and metrics for operators, on OpenTelemetry (`@effect/opentelemetry` over the OTel SDK): Effect's spans
 * (connections, RPCs, runs) and metrics (`GatewayMetrics`) exported by OTLP/HTTP when `telemetry.otlp` is set, and
 * the metrics served in Prometheus text format when `telemetry.prometheus` is true. With neither, nothing is built
 * and the SDK is not even loaded: Effect's own tracer and metric registry stay in memory, at no export cost.
 */
import { Context, Effect, Layer, Option } from "effect"
import { GatewayConfig } from "../Config/GatewayConfig.js"

export interface PrometheusMetricsService {
  /** The current metrics in Prometheus text exposition format. */
  readonly scrape: Effect.Effect<string>
}

/** Present when `telemetry.prometheus` is true: what `GET /metrics` answers. */
export class PrometheusMetrics extends Context.Tag("openclaw/PrometheusMetrics")<
  PrometheusMetrics,
  Option.Option<PrometheusMetricsService>
>() {}

export const layer: Layer.Layer<PrometheusMetrics, never, GatewayConfig> = Layer.unwrapEffect(
  Effect.flatMap(GatewayConfig, ({ config }) =>
    config.telemetry.otlp === undefined && !config.telemetry.prometheus
      ? Effect.succeed(Layer.succeed(PrometheusMetrics, Option.none()))
      : Effect.map(Effect.promise(() => import("./OtelSdk.js")), (sdk) => sdk.layer(config.telemetry)))
)
