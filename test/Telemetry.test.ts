/**
 * Telemetry: a run's span with its attributes (in-memory exporter), OTLP/HTTP export of traces and metrics to a
 * local receiver on loopback that decodes what it receives, and the Prometheus endpoint.
 */
import { InMemorySpanExporter, SimpleSpanProcessor } from "@opentelemetry/sdk-trace-base"
import { Effect, Exit, Layer, Mailbox, Schema, Scope, Stream } from "effect"
import * as http from "node:http"
import { describe, expect, it } from "vitest"
import * as InlineRunner from "../src/Agents/InlineRunner.js"
import { GatewayClient } from "../src/Client/GatewayClient.js"
import { RunSupervisor } from "../src/Agents/RunSupervisor.js"
import { GatewayConfig } from "../src/Config/GatewayConfig.js"
import { StartRun } from "../src/Domain/RunSpec.js"
import * as ProviderRegistry from "../src/Llm/ProviderRegistry.js"
import * as OtelSdk from "../src/Telemetry/OtelSdk.js"
import { startInProcessGateway, type TestGateway } from "./support/TestGateway.js"

/** An OTLP/HTTP receiver: every JSON body posted, by path. */
const startReceiver = () =>
  new Promise<{ readonly url: string; readonly bodies: Map<string, Array<unknown>>; readonly close: () => void }>(
    (resolve) => {
      const bodies = new Map<string, Array<unknown>>()
      const server = http.createServer((request, response) => {
        const parts: Array<Buffer> = []
        request.on("data", (part: Buffer) => parts.push(part))
        request.on("end", () => {
          const path = request.url ?? ""
          bodies.set(path, [...(bodies.get(path) ?? []), JSON.parse(Buffer.concat(parts).toString("utf8"))])
          response.writeHead(200, { "content-type": "application/json" }).end("{}")
        })
      })
      server.listen(0, "127.0.0.1", () => {
        const address = server.address()
        const port = typeof address === "object" && address !== null ? address.port : 0
        resolve({ url: `http://127.0.0.1:${port}`, bodies, close: () => server.close() })
      })
    }
  )

/** The part of an OTLP/HTTP JSON traces body the tests read (decoding also checks the exporter's shape). */
const OtlpTraces = Schema.Struct({
  resourceSpans: Schema.Array(Schema.Struct({
    scopeSpans: Schema.Array(Schema.Struct({
      spans: Schema.Array(Schema.Struct({
        name: Schema.String,
        traceId: Schema.String,
        spanId: Schema.String,
        parentSpanId: Schema.optional(Schema.String),
        attributes: Schema.Array(Schema.Struct({
          key: Schema.String,
          value: Schema.Struct({
            stringValue: Schema.optional(Schema.String),
            intValue: Schema.optional(Schema.Union(Schema.String, Schema.Number)),
            doubleValue: Schema.optional(Schema.Number)
          })
        }))
      }))
    }))
  }))
})

/** Every span of the OTLP traces bodies, flattened: name and attributes as a plain record. */
const spansOf = (bodies: ReadonlyArray<unknown>) =>
  bodies.flatMap((body) => Schema.decodeUnknownSync(OtlpTraces)(body).resourceSpans)
    .flatMap((resource) => resource.scopeSpans.flatMap((scope) => scope.spans))
    .map((span) => ({
      name: span.name,
      traceId: span.traceId,
      spanId: span.spanId,
      parentSpanId: span.parentSpanId,
      attributes: Object.fromEntries(
        span.attributes.map((a) => [a.key, a.value.stringValue ?? a.value.intValue ?? a.value.doubleValue])
      )
    }))

const runOverHttp = async (gateway: TestGateway, body: unknown) => {
  const response = await fetch(`http://127.0.0.1:${gateway.port}/v1/runs`, {
    method: "POST",
    headers: { authorization: `Bearer ${gateway.token}` },
    body: JSON.stringify(body)
  })
  expect(response.status).toBe(200)
  return response.json()
}

describe("Telemetry", () => {
  it("a run's span carries its outcome, mode, queue wait, time to first token and tokens (in-memory exporter)", async () => {
    const exporter = new InMemorySpanExporter()
    const layer = RunSupervisor.DefaultWithoutDependencies.pipe(
      Layer.provide([ProviderRegistry.layer, InlineRunner.layer]),
      Layer.provide(GatewayConfig.layerTest({ models: { providers: { mock: { firstTokenDelayMs: 0, tokenDelayMs: 0 } } } })),
      Layer.provide(OtelSdk.sdkLayer("test", [new SimpleSpanProcessor(exporter)], []))
    )
    const spans = await Effect.runPromise(Effect.scoped(Effect.gen(function*() {
      const supervisor = yield* RunSupervisor
      const run = yield* supervisor.start(new StartRun({ prompt: "trace me", mode: "inline" }), { principal: "p" })
      yield* Stream.runDrain(Mailbox.toStream(run.events))
      // The run fiber ends (and its span with it) right after its last event.
      for (let i = 0; i < 100 && !exporter.getFinishedSpans().some((s) => s.name === "RunSupervisor.run"); i++) {
        yield* Effect.sleep("10 millis")
      }
      return exporter.getFinishedSpans()
    }).pipe(Effect.provide(layer))))
    const runSpan = spans.find((span) => span.name === "RunSupervisor.run")
    expect(runSpan?.attributes).toMatchObject({ outcome: "completed", mode: "inline", agent: "codex" })
    expect(runSpan?.attributes["tokensOut"]).toBeGreaterThan(0)
    expect(runSpan?.attributes["timeToFirstTokenMs"]).toBeGreaterThanOrEqual(0)
    expect(runSpan?.attributes["queueWaitMs"]).toBeGreaterThanOrEqual(0)
    // The run's span is a child of the span of the call that started it.
    const startSpan = spans.find((span) => span.name === "RunSupervisor.start")
    expect(runSpan?.parentSpanContext?.spanId).toBe(startSpan?.spanContext().spanId)
  })

  it("exports traces and metrics by OTLP/HTTP JSON to the configured endpoint", async () => {
    const receiver = await startReceiver()
    try {
      const scope = Effect.runSync(Scope.make())
      const gateway = await Effect.runPromise(Scope.extend(
        startInProcessGateway({ telemetry: { otlp: { endpoint: receiver.url, exportIntervalMs: 100 } } }),
        scope
      ))
      await runOverHttp(gateway, { prompt: "export me", mode: "inline" })
      await Effect.runPromise(
        Stream.runDrain(Stream.unwrap(Effect.map(GatewayClient, (client) => client.startRun({ prompt: "over ws" })))).pipe(
          Effect.provide(GatewayClient.layer({ url: gateway.url, token: gateway.token }))
        )
      )
      // The thread-bound run's worker sends its spans itself, soon after the run (bounded wait).
      for (let i = 0; i < 200 && !spansOf(receiver.bodies.get("/v1/traces") ?? []).some((s) => s.name === "Worker.run"); i++) {
        await new Promise((resolve) => setTimeout(resolve, 25))
      }
      // Shutting down flushes what the gateway has batched.
      await Effect.runPromise(Scope.close(scope, Exit.void))
      const spans = spansOf(receiver.bodies.get("/v1/traces") ?? [])
      expect(spans.map((span) => span.name)).toEqual(
        expect.arrayContaining(["RunSupervisor.run", "RpcServer.StartRun", "RpcWebSocket.connection"])
      )
      // Over the WebSocket, the run's start is a child of the request's span.
      const requestSpan = spans.find((span) => span.name === "RpcServer.StartRun")
      expect(spans.some((span) => span.name === "RunSupervisor.start" && span.parentSpanId === requestSpan?.spanId))
        .toBe(true)
      // The worker's span of the run is a child of the main thread's span of that run: one trace.
      const workerSpan = spans.find((span) => span.name === "Worker.run")
      const parent = spans.find((span) => span.spanId === workerSpan?.parentSpanId)
      expect(parent?.name).toBe("RunSupervisor.run")
      expect(parent?.traceId).toBe(workerSpan?.traceId)
      expect(workerSpan?.attributes["threadId"]).toBeDefined()
      // The run's own span names the thread too.
      expect(parent?.attributes["threadId"]).toBe(workerSpan?.attributes["threadId"])
      // 1000 from the client, or 1001 if the gateway's shutdown came before the client's close was handled.
      expect([1000, 1001]).toContain(Number(spans.find((span) => span.name === "RpcWebSocket.connection")?.attributes["closeCode"]))
      expect(spans.find((span) => span.name === "RunSupervisor.run")?.attributes).toMatchObject({ outcome: "completed" })
      const metrics = JSON.stringify(receiver.bodies.get("/v1/metrics") ?? [])
      for (const name of ["openclaw_runs_started", "openclaw_runs_ended", "openclaw_run_duration_seconds", "openclaw_tokens_out"]) {
        expect(metrics).toContain(name)
      }
    } finally {
      receiver.close()
    }
  })

  it("serves Prometheus text at /metrics when enabled, to a credential with runs:read; 404 when not", async () => {
    await Effect.runPromise(Effect.scoped(Effect.gen(function*() {
      const gateway = yield* startInProcessGateway({ telemetry: { prometheus: true } })
      yield* Effect.promise(() => runOverHttp(gateway, { prompt: "count me", mode: "inline" }))
      const anonymous = yield* Effect.promise(() => fetch(`http://127.0.0.1:${gateway.port}/metrics`))
      expect(anonymous.status).toBe(401)
      const scraped = yield* Effect.promise(() =>
        fetch(`http://127.0.0.1:${gateway.port}/metrics`, { headers: { authorization: `Bearer ${gateway.token}` } })
      )
      expect(scraped.status).toBe(200)
      expect(scraped.headers.get("content-type")).toContain("text/plain")
      const text = yield* Effect.promise(() => scraped.text())
      // Effect's metric registry is the process's: other tests' runs count too.
      expect(text).toMatch(/^openclaw_runs_started_total\{[^}]*\} [1-9]\d*$/m)
      expect(text).toMatch(/^openclaw_runs_ended_total\{outcome="completed",[^}]*\} [1-9]\d*$/m)
      expect(text).toMatch(/^openclaw_run_duration_seconds_bucket\{/m)
    })))
    await Effect.runPromise(Effect.scoped(Effect.gen(function*() {
      const gateway = yield* startInProcessGateway()
      const response = yield* Effect.promise(() =>
        fetch(`http://127.0.0.1:${gateway.port}/metrics`, { headers: { authorization: `Bearer ${gateway.token}` } })
      )
      expect(response.status).toBe(404)
    })))
  })
})
