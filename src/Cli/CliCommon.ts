/**
 * What the `openclaw` commands share: exit codes, the typed exit, output, and the client settings (flags, then the
 * environment, then openclaw.json) with the failures of connecting told apart by exit code.
 */
import { Options } from "@effect/cli"
import { Config, Data, Duration, Effect, Layer, Option, type Redacted } from "effect"
import {
  GatewayClient,
  type GatewayClientConfigError,
  type GatewayClientError,
  type GatewayClientOptions,
  type SessionError
} from "../Client/GatewayClient.js"
import { type ConfigError, loadConfig } from "../Config/ConfigLoader.js"
import { version } from "../Version.js"

/** How a command ends when it does not succeed: the process exit code and what to say on stderr. */
export class CliExit extends Data.TaggedError("CliExit")<{ readonly code: number; readonly message: string }> {}

export const ExitCode = {
  ok: 0,
  runFailed: 1,
  usage: 2,
  unreachable: 3,
  tokenRejected: 4,
  timedOut: 124,
  interrupted: 130
} as const

/** The exit code of an interrupted command (SIGINT/SIGTERM): a gateway stopping on a signal is a success. */
export const interruption: { exitCode: number } = { exitCode: ExitCode.interrupted }

export const writeOut = (text: string) => Effect.sync(() => void process.stdout.write(text))
export const writeErr = (text: string) => Effect.sync(() => void process.stderr.write(text))

// Options shared by the client commands

export const clientOptions = {
  url: Options.text("url").pipe(
    Options.withDescription("Gateway URL (ws:// or wss://); default $OPENCLAW_GATEWAY_URL, else ws://127.0.0.1:18789"),
    Options.optional
  ),
  token: Options.redacted("token").pipe(
    Options.withDescription("Gateway token; default $OPENCLAW_GATEWAY_TOKEN, else the gateway's token file"),
    Options.optional
  ),
  config: Options.file("config").pipe(
    Options.withDescription("openclaw.json to take the token file, port and keep-alive from (default: the lookup)"),
    Options.optional
  ),
  json: Options.boolean("json").pipe(Options.withDescription("Machine-readable output"))
}

export interface ClientFlags {
  readonly url: Option.Option<string>
  readonly token: Option.Option<Redacted.Redacted<string>>
  readonly config: Option.Option<string>
}

export const configFailure = (error: ConfigError | GatewayClientConfigError) =>
  new CliExit({ code: ExitCode.usage, message: error.message })

/** Client settings: the flags, else the environment (read by the client), else openclaw.json, else defaults. */
export const clientSettings = (flags: ClientFlags) =>
  Effect.gen(function*() {
    const { config, file } = yield* loadConfig(flags.config)
    const urlFromEnv = yield* Config.option(Config.string("OPENCLAW_GATEWAY_URL")).pipe(Effect.orDie)
    const { bind, port } = config.gateway
    // A gateway on a wildcard address is reached over loopback; port 0 is unknowable, so the default applies.
    const host = bind === "0.0.0.0" || bind === "::" ? "127.0.0.1" : bind.includes(":") ? `[${bind}]` : bind
    const scheme = config.gateway.tls === undefined ? "ws" : "wss"
    const urlFromConfig = Option.isSome(file) && port !== 0 ? `${scheme}://${host}:${port}` : undefined
    const settings: GatewayClientOptions = {
      url: Option.getOrUndefined(flags.url) ?? (Option.isSome(urlFromEnv) ? undefined : urlFromConfig),
      token: Option.getOrUndefined(flags.token),
      tokenFile: config.gateway.auth.tokenFile,
      keepAliveInterval: Duration.millis(config.acp.codex.keepAliveInterval),
      clientName: `openclaw-cli/${version}`
    }
    return { settings, transport: config.acp.codex.transport }
  }).pipe(Effect.mapError(configFailure))

export const connectionFailure = (error: GatewayClientError | SessionError) =>
  new CliExit({
    code: error._tag === "GatewayUnreachable"
      ? ExitCode.unreachable
      : error._tag === "TokenRejected"
      ? ExitCode.tokenRejected
      : ExitCode.runFailed,
    message: error.message
  })

/** Runs `body` with a connected client. */
export const withClient = <A, E, R>(flags: ClientFlags, body: Effect.Effect<A, E, R | GatewayClient>) =>
  Effect.gen(function*() {
    const { settings } = yield* clientSettings(flags)
    return yield* Effect.gen(function*() {
      yield* (yield* GatewayClient).connect.pipe(Effect.mapError(connectionFailure))
      return yield* body
    }).pipe(Effect.provide(GatewayClient.layer(settings).pipe(Layer.mapError(configFailure))))
  })
