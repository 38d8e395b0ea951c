/**
 * Traces and metrics for operators, on OpenTelemetry (`@effect/opentelemetry` over the OTel SDK): Effect's spans
 * (connections, RPCs, runs) and metrics (`GatewayMetrics`) exported by OTLP/HTTP when `telemetry.otlp` is set, and
 * the metrics served in Prometheus text format when `telemetry.prometheus` is true. With neither, nothing is built:
 * Effect's own tracer and metric registry stay in memory, at no export cost.
 */
import { NodeSdk } from "@effect/opentelemetry"
import { OTLPMetricExporter } from "@opentelemetry/exporter-metrics-otlp-http"
import { PrometheusExporter, PrometheusSerializer } from "@opentelemetry/exporter-prometheus"
import { OTLPTraceExporter } from "@opentelemetry/exporter-trace-otlp-http"
import { type MetricReader, PeriodicExportingMetricReader } from "@opentelemetry/sdk-metrics"
import { BatchSpanProcessor, type SpanProcessor } from "@opentelemetry/sdk-trace-base"
import { Context, Effect, Layer, Option } from "effect"
import type { OpenclawConfig } from "../Config/ConfigSchema.js"
import { GatewayConfig } from "../Config/GatewayConfig.js"
import { version } from "../Version.js"

export interface PrometheusMetricsService {
  /** The current metrics in Prometheus text exposition format. */
  readonly scrape: Effect.Effect<string>
}

/** Present when `telemetry.prometheus` is true: what `GET /metrics` answers. */
export class PrometheusMetrics extends Context.Tag("openclaw/PrometheusMetrics")<
  PrometheusMetrics,
  Option.Option<PrometheusMetricsService>
>() {}

const prometheusService = (exporter: PrometheusExporter): PrometheusMetricsService => {
  const serializer = new PrometheusSerializer()
  return {
    scrape: Effect.promise(() => exporter.collect()).pipe(
      Effect.map(({ resourceMetrics }) => serializer.serialize(resourceMetrics))
    )
  }
}

/**
 * The SDK with the given span processors and metric readers (tests pass in-memory ones), or nothing when there
 * are none.
 */
export const sdkLayer = (
  serviceName: string,
  spanProcessors: ReadonlyArray<SpanProcessor>,
  metricReaders: ReadonlyArray<MetricReader>
): Layer.Layer<never> =>
  spanProcessors.length === 0 && metricReaders.length === 0
    ? Layer.empty
    : Layer.discard(NodeSdk.layer(() => ({
      resource: { serviceName, serviceVersion: version },
      spanProcessor: spanProcessors,
      metricReader: metricReaders
    })))

/** The OTLP span export of `telemetry.otlp`, batched for `delayMs` at most; none when it is not set. */
export const otlpSpanProcessors = (
  telemetry: OpenclawConfig["telemetry"],
  delayMs?: number
): Array<SpanProcessor> => {
  const { otlp } = telemetry
  if (otlp === undefined) return []
  const exporter = new OTLPTraceExporter({ url: `${otlp.endpoint.replace(/\/+$/, "")}/v1/traces`, headers: otlp.headers })
  return [new BatchSpanProcessor(exporter, delayMs === undefined ? {} : { scheduledDelayMillis: delayMs })]
}

export const layer: Layer.Layer<PrometheusMetrics, never, GatewayConfig> = Layer.unwrapEffect(
  Effect.map(GatewayConfig, ({ config }) => {
    const { otlp, prometheus, serviceName } = config.telemetry
    const exporter = prometheus ? new PrometheusExporter({ preventServerStart: true }) : undefined
    const spanProcessors = otlpSpanProcessors(config.telemetry)
    const metricReaders: Array<MetricReader> = exporter === undefined ? [] : [exporter]
    if (otlp !== undefined) {
      metricReaders.push(
        new PeriodicExportingMetricReader({
          exporter: new OTLPMetricExporter({
            url: `${otlp.endpoint.replace(/\/+$/, "")}/v1/metrics`,
            headers: otlp.headers
          }),
          exportIntervalMillis: otlp.exportIntervalMs
        })
      )
    }
    return Layer.merge(
      Layer.succeed(PrometheusMetrics, Option.map(Option.fromNullable(exporter), prometheusService)),
      sdkLayer(serviceName, spanProcessors, metricReaders)
    )
  })
)
