/**
 * The environment handed to the commands a run executes: the gateway's own, minus anything that could be one of its
 * secrets, so a command (or a model that writes commands) cannot read them.
 */

/** Names that look like they hold a credential. */
export const secretLookingName = /TOKEN|SECRET|PASSWORD|API_?KEY|PRIVATE/i

/** The gateway's own settings (`OPENCLAW_GATEWAY_TOKEN`, `OPENCLAW_CONFIG`, ...). */
const gatewayName = /^OPENCLAW_/i

export interface CommandEnvironmentOptions {
  /** Variables named by `{"env": NAME}` secret references of the config. */
  readonly secretEnvNames: ReadonlyArray<string>
  /** The config's decoded secret values: a variable holding one of them is dropped whatever its name. */
  readonly secretValues?: ReadonlyArray<string>
}

/** `env` without the gateway's variables, the named secrets, secret-looking names and variables holding a secret. */
export const make = (
  env: Readonly<Record<string, string | undefined>>,
  options: CommandEnvironmentOptions
): Record<string, string> => {
  const names = new Set(options.secretEnvNames)
  const values = new Set((options.secretValues ?? []).filter((value) => value !== ""))
  const kept: Record<string, string> = {}
  for (const [name, value] of Object.entries(env)) {
    if (value === undefined) continue
    if (gatewayName.test(name) || secretLookingName.test(name) || names.has(name) || values.has(value)) continue
    kept[name] = value
  }
  return kept
}
