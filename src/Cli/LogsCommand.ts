/** `openclaw gateway logs`: the gateway's recent log entries from its ring, and new ones with `--follow`. */
import { Command, Options, ValidationError } from "@effect/cli"
import { HelpDoc } from "@effect/cli"
import { Effect, Option, Stream } from "effect"
import { GatewayClient } from "../Client/GatewayClient.js"
import { type LogEntry, LogLevelName } from "../Domain/LogEntry.js"
import { jsonLine } from "../Telemetry/GatewayLogger.js"
import { CliExit, ExitCode, writeOut, writeErr, clientOptions, connectionFailure, withClient } from "./CliCommon.js"
import { describeEntry } from "./LogLines.js"

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

export const logs = Command.make("logs", {
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
