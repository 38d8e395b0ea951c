/** The decoded configuration as a service, with the file it came from. */
import { Context, Layer, Option, Schema } from "effect"
import { OpenclawConfig, type OpenclawConfigInput } from "./ConfigSchema.js"

export interface GatewayConfigService {
  readonly config: OpenclawConfig
  /** The file the config was read from; none when running on the embedded defaults. */
  readonly file: Option.Option<string>
}

export class GatewayConfig extends Context.Tag("openclaw/GatewayConfig")<GatewayConfig, GatewayConfigService>() {
  /** A config decoded from an in-memory `openclaw.json` value (defaults fill the rest). */
  static readonly fromInput = (input: OpenclawConfigInput): GatewayConfigService => ({
    config: Schema.decodeUnknownSync(OpenclawConfig, { onExcessProperty: "error" })(input),
    file: Option.none()
  })

  /** For tests: the given partial config on top of the defaults. */
  static readonly layerTest = (input: OpenclawConfigInput = {}): Layer.Layer<GatewayConfig> =>
    Layer.sync(GatewayConfig, () => GatewayConfig.fromInput(input))
}
