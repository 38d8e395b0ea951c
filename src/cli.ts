#!/usr/bin/env node
/**
 * The `openclaw` command line: `gateway` runs the gateway in the foreground, `run` streams a run,
 * `status` summarises a running gateway (`--all`: its health too), `doctor` checks the setup on this machine,
 * `config validate|schema` checks and documents openclaw.json.
 * Exit codes: 0 ok, 1 run failed (or unhealthy, or doctor found errors), 2 usage or configuration error,
 * 3 gateway unreachable, 4 token refused (or lacking a scope), 124 run timed out, 130 interrupted (Ctrl-C cancels
 * the run).
 */
import { Args, Command, Options, ValidationError } from "@effect/cli"
import { HelpDoc } from "@effect/cli"
import * as NodeContext from "@effect/platform-node/NodeContext"
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import {
  Cause,
  Config,
  Data,
  Duration,
  Effect,
  Exit,
  FiberRef,
  Layer,
  Option,
  type Redacted,
  Schema,
  type Scope,
  Stream
} from "effect"
import {
  GatewayClient,
  type GatewayClientConfigError,
  type GatewayClientError,
  type GatewayClientOptions,
  make as makeGatewayClient,
  type SessionError,
  type StartRunSpec
} from "./Client/GatewayClient.js"
import { make as makeHttpRunClient } from "./Client/HttpRunClient.js"
import { configJsonSchema } from "./Config/ConfigJsonSchema.js"
import { type ConfigError, loadConfig, renderConfig } from "./Config/ConfigLoader.js"
import { AgentEvent } from "./Domain/AgentEvent.js"
import { type LogEntry, LogLevelName } from "./Domain/LogEntry.js"
import type { RunError } from "./Domain/RunError.js"
import { GatewayStatus } from "./Domain/ServerInfo.js"
import { diagnose, renderFindings } from "./Doctor/Doctor.js"
import { GatewayHealth } from "./Domain/Health.js"
import { jsonLine, prettyLine } from "./Telemetry/GatewayLogger.js"
import { logLevelName } from "./Telemetry/LogLevels.js"
import { version } from "./Version.js"

/** How a command ends when it does not succeed: the process exit code and what to say on stderr. */
class CliExit extends Data.TaggedError("CliExit")<{ readonly code: number; readonly message: string }> {}

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
let interruptedExitCode: number = ExitCode.interrupted

// `openclaw run ... | head` closes stdout early: stop quietly, as other command-line tools do.
process.stdout.on("error", (error: NodeJS.ErrnoException) => {
  if (error.code !== "EPIPE") throw error
  process.exit(ExitCode.ok)
})

const writeOut = (text: string) => Effect.sync(() => void process.stdout.write(text))
const writeErr = (text: string) => Effect.sync(() => void process.stderr.write(text))

// ---------------------------------------------------------------------------------------------
// Options shared by the client commands
// ---------------------------------------------------------------------------------------------

const clientOptions = {
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

interface ClientFlags {
  readonly url: Option.Option<string>
  readonly token: Option.Option<Redacted.Redacted<string>>
  readonly config: Option.Option<string>
}

const configFailure = (error: ConfigError | GatewayClientConfigError) =>
  new CliExit({ code: ExitCode.usage, message: error.message })

/** Client settings: the flags, else the environment (read by the client), else openclaw.json, else defaults. */
const clientSettings = (flags: ClientFlags) =>
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

const connectionFailure = (error: GatewayClientError | SessionError) =>
  new CliExit({
    code: error._tag === "GatewayUnreachable"
      ? ExitCode.unreachable
      : error._tag === "TokenRejected"
      ? ExitCode.tokenRejected
      : ExitCode.runFailed,
    message: error.message
  })

/** Runs `body` with a connected client. */
const withClient = <A, E, R>(flags: ClientFlags, body: Effect.Effect<A, E, R | GatewayClient>) =>
  Effect.gen(function*() {
    const { settings } = yield* clientSettings(flags)
    return yield* Effect.gen(function*() {
      yield* (yield* GatewayClient).connect.pipe(Effect.mapError(connectionFailure))
      return yield* body
    }).pipe(Effect.provide(GatewayClient.layer(settings).pipe(Layer.mapError(configFailure))))
  })

// ---------------------------------------------------------------------------------------------
// openclaw gateway
// ---------------------------------------------------------------------------------------------

const gateway = Command.make("gateway", {
  port: Options.integer("port").pipe(Options.withDescription("TCP port (0 picks a free one)"), Options.optional),
  bind: Options.text("bind").pipe(Options.withDescription("Address to listen on"), Options.optional),
  config: Options.file("config").pipe(Options.withDescription("Path of openclaw.json"), Options.optional)
}, (options) =>
  Effect.gen(function*() {
    interruptedExitCode = ExitCode.ok
    // `--log-level` is @effect/cli's built-in option: it sets the minimum level around this handler. A level other
    // than the default (info) overrides `logging.level`.
    const level = yield* FiberRef.get(FiberRef.currentMinimumLogLevel)
    const logLevel = level._tag === "Info" ? Option.none() : Option.some(logLevelName(level))
    // The gateway's modules load only for this command: the client commands start faster without them.
    const { exitCodeOf, runGateway } = yield* Effect.promise(() => import("./Gateway/GatewayMain.js"))
    // runGateway prints its own start-up errors; only the exit code is left to choose.
    yield* runGateway({ ...options, logLevel }).pipe(
      Effect.catchAllCause((cause) =>
        Effect.fail(new CliExit({ code: exitCodeOf(Exit.failCause(cause)), message: "" }))
      )
    )
  })).pipe(Command.withDescription("Run the gateway in the foreground until SIGINT/SIGTERM"))

// ---------------------------------------------------------------------------------------------
// openclaw gateway logs
// ---------------------------------------------------------------------------------------------

const durationUnits: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }

/** `--since`: a duration back from now (`90s`, `5m`, `2h`, `1d`) or a date (`2026-11-26T10:00:00Z`). */
const parseSince = (text: string, now: number): Effect.Effect<number, ValidationError.ValidationError> => {
  const relative = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)$/.exec(text.trim())
  if (relative !== null) return Effect.succeed(now - Number(relative[1]) * (durationUnits[relative[2] ?? "s"] ?? 1000))
  const absolute = Date.parse(text)
  return Number.isNaN(absolute)
    ? Effect.fail(ValidationError.invalidValue(HelpDoc.p(`--since: expected e.g. 5m, 2h or an ISO date, got ${text}`)))
    : Effect.succeed(absolute)
}

const levelColours: Record<LogLevelName, string> = {
  trace: "\x1b[90m",
  debug: "\x1b[36m",
  info: "\x1b[32m",
  warning: "\x1b[33m",
  error: "\x1b[31m",
  fatal: "\x1b[35m"
}

/** One entry as the gateway's pretty format prints it, the level coloured when stdout is a terminal. */
const describeEntry = (entry: LogEntry, colour: boolean): string => {
  const line = prettyLine(entry)
  if (!colour) return line
  const level = entry.level.toUpperCase()
  const at = line.indexOf(level)
  return `\x1b[2m${line.slice(0, at)}\x1b[0m${levelColours[entry.level]}${level}\x1b[0m${line.slice(at + level.length)}`
}

const logs = Command.make("logs", {
  ...clientOptions,
  level: Options.choice("level", LogLevelName.literals).pipe(
    Options.withDescription("Least severe level to show (default info)"),
    Options.optional
  ),
  follow: Options.boolean("follow").pipe(Options.withAlias("f"), Options.withDescription("Keep printing new entries")),
  since: Options.text("since").pipe(
    Options.withDescription("Only entries since a duration ago (5m, 2h) or a date"),
    Options.optional
  ),
  run: Options.text("run").pipe(Options.withDescription("Only entries of this run id"), Options.optional),
  limit: Options.integer("limit").pipe(Options.withDescription("At most this many past entries"), Options.optional)
}, (flags) =>
  Effect.gen(function*() {
    const now = Date.now()
    const since = Option.isSome(flags.since) ? Option.some(yield* parseSince(flags.since.value, now)) : Option.none()
    const colour = process.stdout.isTTY === true && !flags.json
    let expected: number | undefined
    const print = (entry: LogEntry) =>
      Effect.gen(function*() {
        // Entries are numbered in the gateway's whole log: a jump while following means the ring dropped some.
        if (flags.follow && expected !== undefined && entry.seq > expected && Option.isNone(flags.run)) {
          yield* writeErr(`[${entry.seq - expected} entries not shown: filtered or dropped by the gateway's ring]\n`)
        }
        expected = entry.seq + 1
        yield* writeOut(flags.json ? jsonLine(entry) : describeEntry(entry, colour))
      })
    yield* withClient(
      flags,
      GatewayClient.pipe(
        Effect.flatMap((client) =>
          Stream.runForEach(
            client.tailLogs({
              ...Option.match(flags.level, { onNone: () => ({}), onSome: (level) => ({ level }) }),
              since: Option.getOrUndefined(since),
              runId: Option.getOrUndefined(flags.run),
              limit: Option.getOrUndefined(flags.limit),
              follow: flags.follow
            }),
            print
          )
        ),
        Effect.mapError((error) =>
          error._tag === "Forbidden"
            ? new CliExit({ code: ExitCode.tokenRejected, message: `openclaw gateway logs: ${error.message}` })
            : connectionFailure(error)
        )
      )
    )
  })).pipe(Command.withDescription("Print the gateway's recent log entries (needs the admin scope); -f follows"))

// ---------------------------------------------------------------------------------------------
// openclaw run
// ---------------------------------------------------------------------------------------------

const positiveSeconds = (seconds: number) =>
  Number.isFinite(seconds) && seconds > 0
    ? Effect.succeed(seconds)
    : Effect.fail(
      ValidationError.invalidValue(HelpDoc.p(`--timeout must be a positive number of seconds, got ${seconds}`))
    )

const runExitCode = (error: RunError | GatewayClientError | SessionError): number => {
  switch (error._tag) {
    case "RunTimedOut":
      return ExitCode.timedOut
    case "GatewayUnreachable":
    case "GatewayShuttingDown":
      return ExitCode.unreachable
    case "TokenRejected":
      return ExitCode.tokenRejected
    default:
      return ExitCode.runFailed
  }
}

const encodeEvent = Schema.encodeSync(AgentEvent)

const run = Command.make("run", {
  ...clientOptions,
  agent: Options.text("agent").pipe(Options.withAlias("a"), Options.withDescription("Agent to run"), Options.optional),
  mode: Options.choice("mode", ["thread-bound", "inline"]).pipe(
    Options.withAlias("m"),
    Options.withDescription("Where the run executes (default thread-bound)"),
    Options.optional
  ),
  prompt: Options.text("prompt").pipe(Options.withAlias("p"), Options.withDescription("Instruction"), Options.optional),
  command: Options.text("command").pipe(
    Options.withAlias("c"),
    Options.withDescription("Shell command for the agent to run in its workspace"),
    Options.optional
  ),
  timeout: Options.float("timeout").pipe(
    Options.withAlias("t"),
    Options.withDescription("Wall-clock limit of the run, in seconds"),
    Options.mapEffect(positiveSeconds),
    Options.optional
  ),
  model: Options.text("model").pipe(Options.withDescription("provider/model, e.g. mock/mock-1"), Options.optional),
  transport: Options.choice("transport", ["websocket", "http"]).pipe(
    Options.withDescription("WebSocket RPC, or HTTP with SSE (default: acp.codex.transport, else websocket)"),
    Options.optional
  )
}, (flags) =>
  Effect.gen(function*() {
    if (Option.isNone(flags.prompt) && Option.isNone(flags.command)) {
      return yield* new CliExit({
        code: ExitCode.usage,
        message: "openclaw run: give --prompt TEXT and/or --command CMD"
      })
    }
    const spec: StartRunSpec = {
      ...Option.match(flags.mode, { onNone: () => ({}), onSome: (mode) => ({ mode }) }),
      agent: Option.getOrUndefined(flags.agent),
      prompt: Option.getOrUndefined(flags.prompt),
      command: Option.getOrUndefined(flags.command),
      timeoutMs: Option.getOrUndefined(Option.map(flags.timeout, (seconds) => Math.max(1, Math.round(seconds * 1000)))),
      model: Option.getOrUndefined(flags.model)
    }
    let runId: string | undefined
    let atLineStart = true
    let commandExitCode = 0
    let summary: string | undefined
    const text = (chunk: string, stream: "stdout" | "stderr") =>
      Effect.sync(() => {
        if (chunk === "") return
        ;(stream === "stdout" ? process.stdout : process.stderr).write(chunk)
        if (stream === "stdout") atLineStart = chunk.endsWith("\n")
      })
    const endLine = Effect.suspend(() => (atLineStart ? Effect.void : text("\n", "stdout")))

    // Only the `--command` runs before the model's first tool call; later CommandExited events are tool calls.
    let sawToolCall = false
    const onEvent = (event: AgentEvent): Effect.Effect<void> => {
      runId = event.runId
      if (event._tag === "ToolCalled") sawToolCall = true
      if (event._tag === "CommandExited" && !sawToolCall) commandExitCode = event.exitCode
      if (flags.json) return writeOut(JSON.stringify(encodeEvent(event)) + "\n")
      switch (event._tag) {
        case "TokenDelta":
          return text(event.text, "stdout")
        case "CommandOutput":
          return text(event.text, event.stream)
        case "ToolCalled":
          return Effect.zipRight(endLine, writeErr(`[tool ${event.name} ${JSON.stringify(event.params)}]\n`))
        case "ToolResult":
          return event.isError ? writeErr(`[tool ${event.name} failed: ${JSON.stringify(event.result)}]\n`) : Effect.void
        case "SubagentEvent":
          return event.event._tag === "RunCompleted"
            ? writeErr(`[subagent ${event.childRunId} completed]\n`)
            : Effect.void
        case "RunCompleted":
          return Effect.sync(() => {
            summary = `run ${event.runId} completed in ${(event.durationMs / 1000).toFixed(1)}s, ` +
              `${event.usage.outputTokens} tokens out`
          })
        default:
          return Effect.void
      }
    }

    const { settings, transport } = yield* clientSettings(flags)
    const opened: Effect.Effect<
      Stream.Stream<AgentEvent, RunError | SessionError | GatewayClientError>,
      GatewayClientConfigError,
      Scope.Scope
    > = Option.getOrElse(flags.transport, () => transport) === "http"
      ? Effect.map(makeHttpRunClient(settings), (client) => client.startRun(spec))
      : Effect.map(makeGatewayClient(settings), (client) => client.startRun(spec))
    yield* Stream.runForEach(Stream.unwrapScoped(Effect.mapError(opened, configFailure)), onEvent).pipe(
      Effect.onInterrupt(() =>
        Effect.zipRight(endLine, writeErr(`openclaw run: run ${runId ?? "(not started)"} cancelled\n`))
      ),
      Effect.catchAll((error) =>
        Effect.zipRight(
          endLine,
          Effect.fail(error instanceof CliExit ? error : new CliExit({ code: runExitCode(error), message: error.message }))
        )
      )
    )
    yield* endLine
    if (commandExitCode !== 0) {
      return yield* new CliExit({
        code: ExitCode.runFailed,
        message: `${summary ?? `run ${runId}`}; its command exited with code ${commandExitCode}`
      })
    }
    yield* writeErr(`${summary ?? `run ${runId ?? "?"} ended without RunCompleted`}\n`)
  })).pipe(Command.withDescription("Start a run on the gateway and stream its output"))

// ---------------------------------------------------------------------------------------------
// openclaw status
// ---------------------------------------------------------------------------------------------

const formatUptime = (ms: number): string => {
  const seconds = Math.floor(ms / 1000)
  const [h, m, s] = [Math.floor(seconds / 3600), Math.floor((seconds % 3600) / 60), seconds % 60]
  return h > 0 ? `${h}h ${m}m ${s}s` : m > 0 ? `${m}m ${s}s` : `${s}s`
}

const describeStatus = (status: GatewayStatus): string =>
  [
    `openclaw gateway ${status.version} (protocol ${status.protocolVersion}), pid ${status.pid}, up ${
      formatUptime(status.uptimeMs)
    }`,
    `listening on ${status.listen}; config ${status.configFile ?? "<embedded defaults>"}`,
    `connections: ${status.connections}; active runs: ${status.runs.length} ` +
    `(completed ${status.runsCompleted}, failed ${status.runsFailed})`,
    ...status.runs.map((run) => `  ${run.runId}  ${run.agent}  ${run.mode}  ${run.state}`),
    `thread pool: ${status.pool.threads.length} threads (min ${status.pool.minThreads}, max ${status.pool.maxThreads}); ` +
    `queue ${status.pool.queued.length}/${status.pool.queueSize}`
  ].join("\n") + "\n"

const megabytes = (bytes: number) => `${(bytes / (1024 * 1024)).toFixed(1)} MB`

/** `status --threads`: one line per pool thread, then the queue and termination counts. */
const describeThreads = (status: GatewayStatus): string => {
  const { pool } = status
  const rows = pool.threads.map((thread) =>
    [
      `  #${thread.id}`.padEnd(6),
      thread.status.padEnd(9),
      (thread.runId ?? "-").padEnd(38),
      `age ${formatUptime(thread.ageMs)}`.padEnd(12),
      `heap ${megabytes(thread.heapUsedBytes)}`.padEnd(14),
      `cpu ${Math.round(thread.runCpuMs)} ms`.padEnd(13),
      `elu ${(thread.utilization * 100).toFixed(0)}%`
    ].join(" ")
  )
  const terminations = Object.entries(pool.terminations).map(([reason, count]) => `${reason} ${count}`).join(", ")
  return [
    `threads: ${pool.threads.length} (min ${pool.minThreads}, max ${pool.maxThreads})`,
    ...rows,
    `queue: ${pool.queued.length}/${pool.queueSize}${pool.queued.length === 0 ? "" : `: ${pool.queued.join(", ")}`}`,
    `terminated: ${terminations === "" ? "none" : terminations}`
  ].join("\n") + "\n"
}

/** `status --all`: the status, then quotas, providers, recent warnings and errors, and the verdict. */
const describeHealth = (status: GatewayStatus, health: GatewayHealth, colour: boolean): string => {
  const { defaults, principals } = health.quotas
  const width = Math.max(0, ...principals.map((p) => p.principal.length), ...health.providers.map((p) => p.name.length))
  const terminations = Object.entries(status.pool.terminations).map(([reason, n]) => `${reason} ${n}`).join(", ")
  const busy = status.pool.threads.filter((thread) => thread.status === "busy").length
  return [
    describeStatus(status).trimEnd(),
    `  ${busy} busy; terminated: ${terminations === "" ? "none" : terminations}`,
    `quotas: ${defaults.maxConcurrentRuns} concurrent runs, ${defaults.runsPerMinute} starts a minute per principal`,
    ...(principals.length === 0 ? ["  (no principal has runs, recent starts or limits of its own)"] : []),
    ...principals.map((p) =>
      `  ${p.principal.padEnd(width)}  ${p.activeRuns}/${p.limits.maxConcurrentRuns} active, ` +
      `${p.startsInWindow}/${p.limits.runsPerMinute} starts in the last minute${p.ownLimits ? " (own limits)" : ""}`
    ),
    `providers (default: ${health.defaultProvider}):`,
    ...health.providers.map((p) =>
      `  ${(p.ok ? "ok" : "FAIL").padEnd(4)}  ${p.name.padEnd(width)}  ${`${Math.round(p.latencyMs)} ms`.padStart(7)}  ` +
      p.detail
    ),
    `recent warnings and errors: ${health.recentErrors.length === 0 ? "none" : ""}`.trimEnd(),
    ...health.recentErrors.map((entry) => `  ${describeEntry(entry, colour).trimEnd()}`),
    `verdict: ${health.verdict}`,
    ...health.reasons.map((reason) => `  - ${reason}`)
  ].join("\n") + "\n"
}

const statusOptions = {
  ...clientOptions,
  threads: Options.boolean("threads").pipe(Options.withDescription("Show the thread pool: each thread and the queue")),
  all: Options.boolean("all").pipe(
    Options.withDescription("Also quotas, provider probes, recent errors and a verdict (needs the admin scope)")
  )
}

/** `status --all`: Status and Health together; exit 1 unless healthy, 4 without the admin scope. */
const statusAll = (flags: { readonly json: boolean }) =>
  GatewayClient.pipe(
    Effect.flatMap((client) => Effect.all([client.status, client.health], { concurrency: "unbounded" })),
    Effect.mapError((error) =>
      error._tag === "Forbidden"
        ? new CliExit({
          code: ExitCode.tokenRejected,
          message: `openclaw status --all: ${error.message} (Health needs it; plain \`openclaw status\` does not)`
        })
        : connectionFailure(error)
    ),
    Effect.tap(([status, health]) =>
      writeOut(
        flags.json
          ? JSON.stringify({
            status: Schema.encodeSync(GatewayStatus)(status),
            health: Schema.encodeSync(GatewayHealth)(health)
          }) + "\n"
          : describeHealth(status, health, process.stdout.isTTY === true)
      )
    ),
    Effect.flatMap(([, health]) =>
      health.verdict === "healthy"
        ? Effect.void
        : new CliExit({
          code: ExitCode.runFailed,
          message: `openclaw status --all: the gateway is ${health.verdict}: ${health.reasons.join("; ")}`
        })
    )
  )

const status = Command.make("status", statusOptions, (flags) =>
  withClient(
    flags,
    flags.all ? statusAll(flags) : GatewayClient.pipe(
      Effect.flatMap((client) => client.status),
      Effect.mapError(connectionFailure),
      Effect.flatMap((status) =>
        writeOut(
          flags.json
            ? JSON.stringify(Schema.encodeSync(GatewayStatus)(status)) + "\n"
            : flags.threads
            ? describeThreads(status)
            : describeStatus(status)
        )
      )
    )
  )).pipe(
    Command.withDescription(
      "Show a running gateway's version, uptime, connections, runs and thread pool; --all adds its health"
    )
  )

// ---------------------------------------------------------------------------------------------
// openclaw doctor
// ---------------------------------------------------------------------------------------------

const doctor = Command.make("doctor", {
  config: Options.text("config").pipe(
    Options.withDescription("openclaw.json to check (default: the lookup)"),
    Options.optional
  ),
  json: clientOptions.json
}, (flags) =>
  Effect.gen(function*() {
    const findings = yield* diagnose({ config: flags.config })
    const errors = findings.filter((finding) => finding.severity === "error").length
    yield* writeOut(flags.json ? JSON.stringify({ ok: errors === 0, findings }) + "\n" : renderFindings(findings))
    if (errors > 0) {
      return yield* new CliExit({
        code: ExitCode.runFailed,
        message: `openclaw doctor: ${errors} error${errors === 1 ? "" : "s"} to fix`
      })
    }
  })).pipe(
    Command.withDescription(
      "Check this machine's setup without the gateway: config, token file, port, threads, memory, TLS, provider keys"
    )
  )

// ---------------------------------------------------------------------------------------------
// openclaw config validate|schema
// ---------------------------------------------------------------------------------------------

const validate = Command.make("validate", {
  path: Args.text({ name: "PATH" }).pipe(
    Args.withDescription("openclaw.json to check (default: the lookup)"),
    Args.optional
  )
}, ({ path }) =>
  loadConfig(path).pipe(
    Effect.mapError(configFailure),
    Effect.flatMap(({ config, file, warnings }) =>
      Effect.all([
        Effect.forEach(warnings, (warning) => writeErr(`warning: ${warning}\n`)),
        writeErr(`${Option.getOrElse(file, () => "<embedded defaults>")} is valid\n`),
        writeOut(renderConfig(config) + "\n")
      ])
    )
  )).pipe(Command.withDescription("Check openclaw.json and print it decoded, with defaults and secrets redacted"))

const schema = Command.make("schema", {}, () => writeOut(JSON.stringify(configJsonSchema(), null, 2) + "\n")).pipe(
  Command.withDescription("Print the JSON Schema of openclaw.json")
)

const config = Command.make("config").pipe(
  Command.withSubcommands([validate, schema]),
  Command.withDescription("Check or document openclaw.json")
)

// ---------------------------------------------------------------------------------------------
// main
// ---------------------------------------------------------------------------------------------

const openclaw = Command.make("openclaw").pipe(
  Command.withSubcommands([gateway.pipe(Command.withSubcommands([logs])), run, status, doctor, config]),
  Command.withDescription("Run and talk to the openclaw gateway")
)

const main = Command.run(openclaw, { name: "openclaw", version })

const program = Effect.suspend(() => main(process.argv)).pipe(
  Effect.as(ExitCode.ok),
  Effect.catchAll((error) =>
    ValidationError.isValidationError(error)
      ? Effect.succeed(ExitCode.usage) // @effect/cli has printed it
      : Effect.as(error.message === "" ? Effect.void : writeErr(`${error.message}\n`), error.code)
  ),
  Effect.provide(NodeContext.layer)
)

NodeRuntime.runMain(program, {
  disableErrorReporting: true,
  // The gateway installs its own logger (JSON lines or pretty, per logging.format).
  disablePrettyLogger: true,
  teardown: (exit, onExit) => {
    // The program's value is its exit code (teardown is generic over it, hence the check).
    if (Exit.isSuccess(exit)) return onExit(typeof exit.value === "number" ? exit.value : 0)
    if (Cause.isInterruptedOnly(exit.cause)) return onExit(interruptedExitCode)
    process.stderr.write(`openclaw: unexpected error\n${Cause.pretty(exit.cause)}\n`)
    onExit(1)
  }
})
