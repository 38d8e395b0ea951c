/**
 * Resolves a run's `provider/model` to a `LanguageModel` behind one tag. Providers are entries of a
 * map built from `models.providers`: the mock always, OpenAI and Anthropic when configured. A provider
 * configured without an API key stays listed, so that its runs are refused with a clear reason.
 */
import type * as AiError from "@effect/ai/AiError"
import type * as LanguageModel from "@effect/ai/LanguageModel"
import type * as Response from "@effect/ai/Response"
import type * as HttpClient from "@effect/platform/HttpClient"
import { Chunk, Context, Effect, Layer, Redacted, Stream } from "effect"
import {
  type AnthropicProviderSection,
  defaultModelOf,
  type OpenAiProviderSection,
  type OpenclawConfig
} from "../Config/ConfigSchema.js"
import { GatewayConfig } from "../Config/GatewayConfig.js"
import { InvalidRequest } from "../Domain/RunError.js"
import * as MockLanguageModel from "./MockLanguageModel.js"
import { resilient, type ResilientOptions, resilientStream } from "./ResilientModel.js"

export interface ResolvedModel {
  /** `provider/model`, as reported in `RunStarted.model` and handed to worker threads. */
  readonly id: string
  readonly provider: string
  readonly model: string
  readonly languageModel: LanguageModel.Service
  /**
   * The provider's parts before @effect/ai decodes them, for providers that can give them (the mock, OpenAI Chat
   * Completions): agents decode them with a schema built once (see `Agents/ModelTurn`), where
   * `languageModel.streamText` rebuilds it per call, several ms of CPU per model turn.
   */
  readonly rawParts?: RawParts | undefined
}

/** A provider's streamed parts in their encoded form, for given provider options. */
export type RawStream = (
  options: LanguageModel.ProviderOptions
) => Stream.Stream<Response.StreamPartEncoded, AiError.AiError>

/**
 * A provider's raw parts handed to `onParts` a batch at a time, as they come; the provider waits for each (so a slow
 * consumer slows the provider). A push rather than a Stream: every Stream stage costs a pull through Effect's channel
 * executor per batch, and with the mock's pacing the model's stream and ModelTurn's stages on it were ~100 µs of CPU
 * per token, against ~30 µs for this loop (100 runs of 50 tokens/s each, in one process).
 */
export type RawParts = <E>(
  options: LanguageModel.ProviderOptions,
  onParts: (parts: ReadonlyArray<Response.StreamPartEncoded>) => Effect.Effect<unknown, E>
) => Effect.Effect<void, AiError.AiError | E>

/** A provider's raw stream as `RawParts`: each of its chunks handed over in turn. */
export const rawPartsOf = (stream: RawStream): RawParts => (options, onParts) =>
  Stream.runForEachChunk(stream(options), (parts) => onParts(Chunk.toReadonlyArray(parts)))

/** What a real provider's module builds: a service per model and, if the provider can give them, its raw parts. */
export interface ProviderModels {
  readonly languageModel: (model: string) => LanguageModel.Service
  readonly rawStream?: ((model: string) => RawStream) | undefined
}

/** One configured provider: which models it serves and the service for one of them. */
export type Provider =
  | {
    readonly _tag: "Available"
    /** The models it serves; `"any"` for real providers, which know their own models. */
    readonly models: ReadonlyArray<string> | "any"
    readonly languageModel: (model: string) => LanguageModel.Service
    readonly rawParts?: ((model: string) => RawParts) | undefined
  }
  | { readonly _tag: "Unavailable"; readonly reason: string }

export interface ProviderRegistryService {
  /** `undefined` means the default model; a malformed name, an unknown provider or model is `InvalidRequest`. */
  readonly resolve: (model: string | undefined) => Effect.Effect<ResolvedModel, InvalidRequest>
}

export class ProviderRegistry extends Context.Tag("openclaw/ProviderRegistry")<
  ProviderRegistry,
  ProviderRegistryService
>() {}

/** A registry over the given providers (tests pass their own, e.g. a mock that records interruption). */
export const fromProviders = (
  providers: Readonly<Record<string, Provider>>,
  defaultModel: string
): ProviderRegistryService => ({
  resolve: (name) => {
    const id = name ?? defaultModel
    const slash = id.indexOf("/")
    if (slash <= 0 || slash === id.length - 1) {
      return Effect.fail(new InvalidRequest({ reason: `model "${id}" must be "provider/model", e.g. "mock/mock-1"` }))
    }
    const providerName = id.slice(0, slash)
    const model = id.slice(slash + 1)
    const provider = Object.hasOwn(providers, providerName) ? providers[providerName] : undefined
    if (provider === undefined) {
      const known = Object.keys(providers).join(", ")
      return Effect.fail(
        new InvalidRequest({
          reason: `unknown provider "${providerName}" (configured: ${known}; add it under models.providers)`
        })
      )
    }
    if (provider._tag === "Unavailable") return Effect.fail(new InvalidRequest({ reason: provider.reason }))
    if (provider.models !== "any" && !provider.models.includes(model)) {
      const known = provider.models.join(", ")
      return Effect.fail(
        new InvalidRequest({ reason: `provider "${providerName}" has no model "${model}" (available: ${known})` })
      )
    }
    return Effect.succeed({
      id,
      provider: providerName,
      model,
      languageModel: provider.languageModel(model),
      rawParts: provider.rawParts?.(model)
    })
  }
})

/** A real provider from its section: unavailable without a key, else its models behind the resilience wrapper. */
const realProvider = <Section extends OpenAiProviderSection | AnthropicProviderSection>(
  name: string,
  section: Section,
  build: (
    section: Section,
    apiKey: Redacted.Redacted<string>
  ) => Effect.Effect<ProviderModels, never, HttpClient.HttpClient>
): Effect.Effect<Provider, never, HttpClient.HttpClient> => {
  const apiKey = section.apiKey
  if (apiKey === undefined) {
    return Effect.succeed({
      _tag: "Unavailable",
      reason: `provider "${name}" has no API key: set models.providers.${name}.apiKey (e.g. {"env": "...")`
    })
  }
  const policy: ResilientOptions = {
    provider: name,
    connectTimeoutMs: section.connectTimeoutMs,
    idleTimeoutMs: section.idleTimeoutMs,
    maxRetries: section.maxRetries,
    secrets: [Redacted.value(apiKey)]
  }
  return Effect.map(build(section, apiKey), ({ languageModel, rawStream }): Provider => ({
    _tag: "Available",
    models: "any",
    languageModel: (model) => resilient(languageModel(model), policy),
    rawParts: rawStream === undefined ? undefined : (model) => rawPartsOf(resilientStream(rawStream(model), policy))
  }))
}

/** The built-in mock: always available, and exposing its raw parts (see `Agents/ModelTurn`). */
const mockProvider = (mockConfig: OpenclawConfig["models"]["providers"]["mock"]): Effect.Effect<Provider> =>
  Effect.map(MockLanguageModel.make(mockConfig), (mock): Provider => ({
    _tag: "Available",
    models: [mockConfig.model],
    languageModel: () => mock,
    rawParts: () => (options, onParts) => MockLanguageModel.pushParts(mockConfig, options, onParts)
  }))

/** The providers of `models.providers`: the mock always, OpenAI and Anthropic when configured. */
export const make: Effect.Effect<ProviderRegistryService, never, GatewayConfig | HttpClient.HttpClient> = Effect.gen(
  function*() {
    const { config } = yield* GatewayConfig
    const { anthropic, mock: mockConfig, openai } = config.models.providers
    const providers: Record<string, Provider> = { mock: yield* mockProvider(mockConfig) }
    // Provider modules are loaded only when configured: @effect/ai-openai and @effect/ai-anthropic are large, and
    // every worker thread builds this registry when it starts.
    if (openai !== undefined) {
      providers["openai"] = yield* realProvider("openai", openai, (section, apiKey) =>
        section.api === "chat"
          ? Effect.flatMap(
            Effect.promise(() => import("./OpenAiChat.js")),
            (OpenAiChat) => OpenAiChat.make({ apiKey, baseUrl: section.baseUrl })
          )
          : Effect.flatMap(
            Effect.promise(() => import("./OpenAiResponsesProvider.js")),
            (OpenAiResponses) =>
              Effect.map(OpenAiResponses.make({ apiKey, baseUrl: section.baseUrl }), (languageModel) => ({
                languageModel
              }))
          ))
    }
    if (anthropic !== undefined) {
      providers["anthropic"] = yield* realProvider("anthropic", anthropic, (section, apiKey) =>
        Effect.flatMap(
          Effect.promise(() => import("./AnthropicProvider.js")),
          (Anthropic) =>
            Effect.map(
              Anthropic.make({ apiKey, baseUrl: section.baseUrl, maxTokens: section.maxTokens }),
              (languageModel) => ({ languageModel })
            )
        ))
    }
    return fromProviders(providers, defaultModelOf(config))
  }
)

/**
 * Real providers speak HTTP through undici, which is loaded only when one is configured: it is large, and every
 * worker thread builds this registry when it starts. With the mock alone there is no HTTP client at all.
 */
export const layer: Layer.Layer<ProviderRegistry, never, GatewayConfig> = Layer.unwrapEffect(
  Effect.map(GatewayConfig, ({ config }) => {
    const { anthropic, mock, openai } = config.models.providers
    if (openai === undefined && anthropic === undefined) {
      return Layer.effect(
        ProviderRegistry,
        Effect.map(mockProvider(mock), (provider) => fromProviders({ mock: provider }, defaultModelOf(config)))
      )
    }
    const undici = Layer.unwrapEffect(
      Effect.map(Effect.promise(() => import("@effect/platform-node/NodeHttpClient")), (Node) => Node.layerUndici)
    )
    return Layer.effect(ProviderRegistry, make).pipe(Layer.provide(undici))
  })
)
