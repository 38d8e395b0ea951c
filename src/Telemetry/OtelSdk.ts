/**
 * The OpenTelemetry SDK side of `Telemetry`, in its own module because loading the SDK and its exporters costs
 * about as much start-up time as the rest of the gateway: it is imported (dynamically) only when telemetry is on.
 */
import { NodeSdk } from "@effect/opentelemetry"
import { OTLPMetricExporter } from "@opentelemetry/exporter-metrics-otlp-http"
import { PrometheusExporter, PrometheusSerializer } from "@opentelemetry/exporter-prometheus"
import { OTLPTraceExporter } from "@opentelemetry/exporter-trace-otlp-http"
import { type MetricReader, PeriodicExportingMetricReader } from "@opentelemetry/sdk-metrics"
import { BatchSpanProcessor, type SpanProcessor } from "@opentelemetry/sdk-trace-base"
import { Effect, Layer, Option } from "effect"
import type { OpenclawConfig } from "../Config/ConfigSchema.js"
import { version } from "../Version.js"
import { PrometheusMetrics, type PrometheusMetricsService } from "./Telemetry.js"

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

/** The SDK for `telemetry`: OTLP export of spans and metrics, the Prometheus reader, or both. */
export const layer = (telemetry: OpenclawConfig["telemetry"]): Layer.Layer<PrometheusMetrics> => {
  const { otlp, prometheus, serviceName } = telemetry
  const exporter = prometheus ? new PrometheusExporter({ preventServerStart: true }) : undefined
  const spanProcessors = otlpSpanProcessors(telemetry)
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
}
