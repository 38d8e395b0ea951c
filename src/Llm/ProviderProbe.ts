/**
 * A cheap check that each configured provider answers and accepts its key: its model list (`GET {baseUrl}/models`
 * for OpenAI and compatible servers, `GET {baseUrl}/v1/models` for Anthropic), which costs no tokens. Probes run
 * concurrently with a short timeout, their details never hold the key, and the answers are cached for a few seconds
 * so that `openclaw status --all` in a loop does not hammer the providers.
 */
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import * as NodeHttpClient from "@effect/platform-node/NodeHttpClient"
import { Clock, Duration, Effect, Redacted } from "effect"
import type { OpenclawConfig } from "../Config/ConfigSchema.js"
import { GatewayConfig } from "../Config/GatewayConfig.js"
import { ProviderProbeResult } from "../Domain/Health.js"

/** What to probe: the mock needs nothing; a real provider is asked with its key at its base URL. */
export type ProbeTarget =
  | { readonly kind: "mock"; readonly name: string }
  | {
    readonly kind: "openai" | "anthropic"
    readonly name: string
    readonly baseUrl: string
    readonly apiKey: Redacted.Redacted<string> | undefined
  }

export interface ProbeOptions {
  /** Longest wait for a provider's whole answer, in ms. Default 3000. */
  readonly timeoutMs?: number
  /** How long answers are reused, in ms. Default 5000. */
  readonly cacheTtlMs?: number
}

/** The providers of `models.providers`, in the registry's order: the mock always, then those configured. */
export const targetsOf = (providers: OpenclawConfig["models"]["providers"]): ReadonlyArray<ProbeTarget> => {
  const targets: Array<ProbeTarget> = [{ kind: "mock", name: "mock" }]
  const { anthropic, openai } = providers
  if (openai !== undefined) {
    targets.push({ kind: "openai", name: "openai", baseUrl: openai.baseUrl, apiKey: openai.apiKey })
  }
  if (anthropic !== undefined) {
    targets.push({ kind: "anthropic", name: "anthropic", baseUrl: anthropic.baseUrl, apiKey: anthropic.apiKey })
  }
  return targets
}

const withoutTrailingSlash = (url: string) => url.replace(/\/+$/, "")

/** The model-list request of a real provider, authenticated as its runs are. */
const modelsRequest = (
  kind: "openai" | "anthropic",
  baseUrl: string,
  apiKey: Redacted.Redacted<string>
): HttpClientRequest.HttpClientRequest =>
  kind === "openai"
    ? HttpClientRequest.get(`${withoutTrailingSlash(baseUrl)}/models`).pipe(
      HttpClientRequest.bearerToken(Redacted.value(apiKey))
    )
    : HttpClientRequest.get(`${withoutTrailingSlash(baseUrl)}/v1/models`).pipe(
      HttpClientRequest.setHeaders({ "x-api-key": Redacted.value(apiKey), "anthropic-version": "2023-06-01" })
    )

const parseJson = (text: string): unknown => {
  try {
    return JSON.parse(text)
  } catch {
    return undefined
  }
}

/** ", 3 models" when the body is `{"data": [...]}` (both APIs list models that way), else "". */
const modelCount = (text: string): string => {
  const body = parseJson(text)
  if (typeof body !== "object" || body === null || !("data" in body) || !Array.isArray(body.data)) return ""
  return `, ${body.data.length} model${body.data.length === 1 ? "" : "s"}`
}

/** The provider's own explanation (`{"error": {"message"}}` in both APIs), else the start of the body. */
const errorMessage = (text: string): string => {
  const body = parseJson(text)
  const message = typeof body === "object" && body !== null && "error" in body && typeof body.error === "object" &&
      body.error !== null && "message" in body.error && typeof body.error.message === "string"
    ? body.error.message
    : text
  const oneLine = message.replace(/\s+/g, " ").trim()
  return oneLine.length > 200 ? `${oneLine.slice(0, 200)}...` : oneLine
}

/** The transport's own failure (e.g. "connect ECONNREFUSED 127.0.0.1:1"), without the request around it. */
const transportReason = (error: unknown): string => {
  if (typeof error === "object" && error !== null && "cause" in error && error.cause instanceof Error) {
    return error.cause.message
  }
  return error instanceof Error ? error.message : String(error)
}

interface Outcome {
  readonly ok: boolean
  readonly detail: string
}

export const make = Effect.fnUntraced(function*(targets: ReadonlyArray<ProbeTarget>, options: ProbeOptions = {}) {
  const client = yield* HttpClient.HttpClient
  const timeoutMs = options.timeoutMs ?? 3000

  const ask = (kind: "openai" | "anthropic", baseUrl: string, apiKey: Redacted.Redacted<string>) =>
    client.execute(modelsRequest(kind, baseUrl, apiKey)).pipe(
      Effect.flatMap((response) =>
        Effect.map(response.text, (text): Outcome =>
          response.status >= 200 && response.status < 300
            ? { ok: true, detail: `HTTP ${response.status}${modelCount(text)}` }
            : { ok: false, detail: `HTTP ${response.status}: ${errorMessage(text) || "(empty body)"}` })
      ),
      Effect.timeoutTo({
        duration: Duration.millis(timeoutMs),
        onTimeout: (): Outcome => ({ ok: false, detail: `no answer within ${timeoutMs} ms` }),
        onSuccess: (outcome) => outcome
      }),
      Effect.catchAll((error) => Effect.succeed<Outcome>({ ok: false, detail: `unreachable: ${transportReason(error)}` })),
      // Providers echo (parts of) a wrong key in their errors; none of it leaves here.
      Effect.map((outcome) => ({ ...outcome, detail: outcome.detail.split(Redacted.value(apiKey)).join("<redacted>") }))
    )

  const probe = (target: ProbeTarget) =>
    Effect.gen(function*() {
      const started = yield* Clock.currentTimeMillis
      const outcome: Outcome = target.kind === "mock"
        ? { ok: true, detail: "built-in mock, always available" }
        : target.apiKey === undefined
        ? { ok: false, detail: `no API key (set models.providers.${target.name}.apiKey)` }
        : yield* ask(target.kind, target.baseUrl, target.apiKey)
      const finished = yield* Clock.currentTimeMillis
      return new ProviderProbeResult({
        name: target.name,
        ...outcome,
        latencyMs: finished - started,
        checkedAt: finished
      })
    })

  const probeAll = yield* Effect.cachedWithTTL(
    Effect.forEach(targets, probe, { concurrency: "unbounded" }).pipe(Effect.withSpan("ProviderProbe.probeAll")),
    Duration.millis(options.cacheTtlMs ?? 5000)
  )
  return {
    /** Every configured provider's answer, probed concurrently (or the cached answers of the last few seconds). */
    probeAll
  }
})

export class ProviderProbe extends Effect.Service<ProviderProbe>()("openclaw/ProviderProbe", {
  effect: Effect.flatMap(GatewayConfig, ({ config }) => make(targetsOf(config.models.providers))),
  dependencies: [NodeHttpClient.layerUndici]
}) {}
