/** `openclaw status [--threads] [--all]`: a running gateway's state, its pool, and with `--all` its health. */
import { Command, Options } from "@effect/cli"
import { Effect, Schema } from "effect"
import { GatewayClient } from "../Client/GatewayClient.js"
import { GatewayHealth } from "../Domain/Health.js"
import { GatewayStatus } from "../Domain/ServerInfo.js"
import { CliExit, ExitCode, writeOut, clientOptions, connectionFailure, withClient } from "./CliCommon.js"
import { describeEntry } from "./LogLines.js"

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

export const status = Command.make("status", statusOptions, (flags) =>
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
