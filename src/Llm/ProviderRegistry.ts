/**
 * Resolves a run's `provider/model` to a `LanguageModel` behind one tag. Providers are entries of a
 * map built from `models.providers`: the mock always, OpenAI and Anthropic when configured. A provider
 * configured without an API key stays listed, so that its runs are refused with a clear reason.
 */
import type { LanguageModel } from "@effect/ai"
import { Context, Effect, Layer } from "effect"
import { defaultModelOf } from "../Config/ConfigSchema.js"
import { GatewayConfig } from "../Config/GatewayConfig.js"
import { InvalidRequest } from "../Domain/RunError.js"
import * as MockLanguageModel from "./MockLanguageModel.js"

export interface ResolvedModel {
  /** `provider/model`, as reported in `RunStarted.model` and handed to worker threads. */
  readonly id: string
  readonly provider: string
  readonly model: string
  readonly languageModel: LanguageModel.Service
}

/** One configured provider: which models it serves and the service for one of them. */
export type Provider =
  | {
    readonly _tag: "Available"
    /** The models it serves; `"any"` for real providers, which know their own models. */
    readonly models: ReadonlyArray<string> | "any"
    readonly languageModel: (model: string) => LanguageModel.Service
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
    return Effect.succeed({ id, provider: providerName, model, languageModel: provider.languageModel(model) })
  }
})

/** The providers of `models.providers`. */
export const make: Effect.Effect<ProviderRegistryService, never, GatewayConfig> = Effect.gen(function*() {
  const { config } = yield* GatewayConfig
  const mockConfig = config.models.providers.mock
  const mock = yield* MockLanguageModel.make(mockConfig)
  const providers: Record<string, Provider> = {
    mock: { _tag: "Available", models: [mockConfig.model], languageModel: () => mock }
  }
  return fromProviders(providers, defaultModelOf(config))
})

export const layer: Layer.Layer<ProviderRegistry, never, GatewayConfig> = Layer.effect(ProviderRegistry, make)
