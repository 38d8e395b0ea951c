/**
 * The provider probe over real loopback HTTP against scripted fake providers: each API's request and credentials,
 * a 200 (with the model count), a 401 (the provider's message, the echoed key scrubbed), no answer in time, nothing
 * listening, no key, the mock, concurrency of the probes and the cache.
 */
import { NodeHttpClient } from "@effect/platform-node"
import { expect, layer } from "@effect/vitest"
import { Effect, Redacted } from "effect"
import { make, type ProbeTarget, targetsOf } from "../src/Llm/ProviderProbe.js"
import { GatewayConfig } from "../src/Config/GatewayConfig.js"
import { hang, jsonReply, serve } from "./support/FakeSseServer.js"
import { unusedPort } from "./support/TestGateway.js"

const apiKey = "sk-probe-test-0123456789-SECRET"
const key = Redacted.make(apiKey)

const openai = (baseUrl: string): ProbeTarget => ({ kind: "openai", name: "openai", baseUrl, apiKey: key })
const anthropic = (baseUrl: string): ProbeTarget => ({ kind: "anthropic", name: "anthropic", baseUrl, apiKey: key })

/** A probe that never reuses answers unless the test asks for it. */
const probeOnce = (targets: ReadonlyArray<ProbeTarget>, timeoutMs = 3000) =>
  Effect.flatMap(make(targets, { timeoutMs, cacheTtlMs: 0 }), (probe) => probe.probeAll)

layer(NodeHttpClient.layerUndici, { excludeTestServices: true })("ProviderProbe", (it) => {
  it.scoped("openai: GET {baseUrl}/models with the Bearer key; a 200 is ok with the model count", () =>
    Effect.gen(function*() {
      const server = yield* serve
      server.reply(jsonReply(200, { object: "list", data: [{ id: "a" }, { id: "b" }] }))
      const [result] = yield* probeOnce([openai(`${server.origin}/v1/`)])
      expect(result).toMatchObject({ name: "openai", ok: true, detail: "HTTP 200, 2 models" })
      expect(result?.latencyMs).toBeGreaterThanOrEqual(0)
      const [request] = server.requests()
      expect(request?.method).toBe("GET")
      expect(request?.path).toBe("/v1/models")
      expect(request?.headers["authorization"]).toBe(`Bearer ${apiKey}`)
    }))

  it.scoped("anthropic: GET {baseUrl}/v1/models with x-api-key and anthropic-version", () =>
    Effect.gen(function*() {
      const server = yield* serve
      server.reply(jsonReply(200, { data: [{ id: "claude" }], has_more: false }))
      const [result] = yield* probeOnce([anthropic(server.origin)])
      expect(result).toMatchObject({ name: "anthropic", ok: true, detail: "HTTP 200, 1 model" })
      const [request] = server.requests()
      expect(request?.path).toBe("/v1/models")
      expect(request?.headers["x-api-key"]).toBe(apiKey)
      expect(request?.headers["anthropic-version"]).toBe("2023-06-01")
      expect(request?.headers["authorization"]).toBeUndefined()
    }))

  it.scoped("a 401 is not ok: the provider's message, with the key it echoes scrubbed", () =>
    Effect.gen(function*() {
      const server = yield* serve
      server.reply(jsonReply(401, { error: { message: `Incorrect API key provided: ${apiKey}`, type: "auth" } }))
      const [result] = yield* probeOnce([openai(server.origin)])
      expect(result).toMatchObject({ ok: false, detail: "HTTP 401: Incorrect API key provided: <redacted>" })
      expect(JSON.stringify(result)).not.toContain(apiKey)
    }))

  it.scoped("a provider that does not answer in time is not ok", () =>
    Effect.gen(function*() {
      const server = yield* serve
      server.reply({ status: 200, headers: { "content-type": "application/json" }, steps: [hang] })
      const [result] = yield* probeOnce([anthropic(server.origin)], 200)
      expect(result).toMatchObject({ ok: false, detail: "no answer within 200 ms" })
    }))

  it.scoped("nothing listening: not ok, unreachable with the transport's reason, no key", () =>
    Effect.gen(function*() {
      const port = yield* Effect.promise(unusedPort)
      const [result] = yield* probeOnce([openai(`http://127.0.0.1:${port}/v1`)])
      expect(result?.ok).toBe(false)
      expect(result?.detail).toMatch(/^unreachable: .*ECONNREFUSED/)
      expect(JSON.stringify(result)).not.toContain(apiKey)
    }))

  it.scoped("no key: not ok without any request; the mock: always ok", () =>
    Effect.gen(function*() {
      const server = yield* serve
      const results = yield* probeOnce([
        { kind: "mock", name: "mock" },
        { kind: "openai", name: "openai", baseUrl: server.origin, apiKey: undefined }
      ])
      expect(results.map(({ detail, name, ok }) => ({ name, ok, detail }))).toEqual([
        { name: "mock", ok: true, detail: "built-in mock, always available" },
        { name: "openai", ok: false, detail: "no API key (set models.providers.openai.apiKey)" }
      ])
      expect(server.requests()).toEqual([])
    }))

  it.scoped("probes run concurrently: a hanging provider does not hold the others back", () =>
    Effect.gen(function*() {
      const slow = yield* serve
      const fast = yield* serve
      slow.reply({ status: 200, headers: {}, steps: [hang] })
      fast.reply(jsonReply(200, { data: [] }))
      const results = yield* probeOnce([openai(slow.origin), anthropic(fast.origin)], 500)
      expect(results.map((result) => result.ok)).toEqual([false, true])
      // Both requests were out before the slow one timed out.
      expect(slow.requests()).toHaveLength(1)
      expect(fast.requests()).toHaveLength(1)
    }))

  it.scoped("answers are reused within the cache's lifetime", () =>
    Effect.gen(function*() {
      const server = yield* serve
      server.reply(jsonReply(200, { data: [] }), jsonReply(200, { data: [] }))
      const cached = yield* make([openai(server.origin)], { cacheTtlMs: 3_600_000 })
      const first = yield* cached.probeAll
      const second = yield* cached.probeAll
      expect(second).toEqual(first)
      expect(server.requests()).toHaveLength(1)
      const uncached = yield* make([openai(server.origin)], { cacheTtlMs: 0 })
      yield* uncached.probeAll
      yield* uncached.probeAll
      expect(server.requests()).toHaveLength(3)
    }))

  it("targetsOf: the mock always, then the configured providers", () => {
    const { config } = GatewayConfig.fromInput({
      models: { providers: { anthropic: { apiKey: "k", baseUrl: "http://127.0.0.1:9" } } }
    })
    expect(targetsOf(config.models.providers).map((target) => target.name)).toEqual(["mock", "anthropic"])
  })
})
