/** The decoded configuration as a service, with the file it came from. */
import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem"
import * as NodePath from "@effect/platform-node/NodePath"
import { Context, Effect, Layer, Option, Schema } from "effect"
import { type ConfigError, loadConfig, type LookupOptions } from "./ConfigLoader.js"
import { OpenclawConfig, type OpenclawConfigInput } from "./ConfigSchema.js"

export interface GatewayConfigService {
  readonly config: OpenclawConfig
  /** The file the config was read from; none when running on the embedded defaults. */
  readonly file: Option.Option<string>
  /**
   * The parsed file before decoding. Worker threads receive it and decode it themselves, since the decoded
   * config holds `Redacted` secrets that do not cross a thread boundary.
   */
  readonly input: unknown
}

export class GatewayConfig extends Context.Tag("openclaw/GatewayConfig")<GatewayConfig, GatewayConfigService>() {
  /**
   * The config found by the usual lookup (`--config` path, `$OPENCLAW_CONFIG`, `./openclaw.json`,
   * `~/.openclaw/openclaw.json`, defaults). Fails with `ConfigError`; logs the loader's warnings.
   */
  static readonly layer = (
    explicit: Option.Option<string>,
    options: LookupOptions = {}
  ): Layer.Layer<GatewayConfig, ConfigError> =>
    Layer.effect(
      GatewayConfig,
      Effect.gen(function*() {
        const { config, file, input, warnings } = yield* loadConfig(explicit, options)
        yield* Effect.forEach(warnings, (warning) => Effect.logWarning(warning), { discard: true })
        return { config, file, input }
      })
    ).pipe(Layer.provide(Layer.merge(NodeFileSystem.layer, NodePath.layer)))

  /** A config decoded from an in-memory `openclaw.json` value (defaults fill the rest). */
  static readonly fromInput = (input: OpenclawConfigInput): GatewayConfigService => ({
    config: Schema.decodeUnknownSync(OpenclawConfig, { onExcessProperty: "error" })(input),
    file: Option.none(),
    input
  })

  /** For tests: the given partial config on top of the defaults. */
  static readonly layerTest = (input: OpenclawConfigInput = {}): Layer.Layer<GatewayConfig> =>
    Layer.sync(GatewayConfig, () => GatewayConfig.fromInput(input))
}
