/**
 * One entry of the gateway's log as `TailLogs` streams it and the JSON-lines log prints it: level, time, message,
 * the trace and span it was written in, the run it belongs to, and the other annotations.
 */
import { Schema } from "effect"

/** Levels from the most to the least verbose (Effect's levels, lower-cased). */
export const LogLevelName = Schema.Literal("trace", "debug", "info", "warning", "error", "fatal")
export type LogLevelName = typeof LogLevelName.Type

export class LogEntry extends Schema.Class<LogEntry>("openclaw/LogEntry")({
  /** Position in the gateway's log since it started: a follower that sees a gap knows entries were dropped. */
  seq: Schema.Int.pipe(Schema.nonNegative()),
  /** Epoch milliseconds. */
  at: Schema.Number,
  level: LogLevelName,
  message: Schema.String,
  /** The fiber that wrote it, e.g. `#12`. */
  fiber: Schema.String,
  traceId: Schema.optional(Schema.String),
  spanId: Schema.optional(Schema.String),
  runId: Schema.optional(Schema.String),
  /** The cause of a failure logged with one, rendered. */
  cause: Schema.optional(Schema.String),
  annotations: Schema.Record({ key: Schema.String, value: Schema.String })
}) {}

/** What `TailLogs` returns: the recent entries that match, then (with `follow`) new ones as they are written. */
export class TailLogsRequest extends Schema.Class<TailLogsRequest>("openclaw/TailLogsRequest")({
  /** The least severe level to include; default `info`. */
  level: Schema.optionalWith(LogLevelName, { default: () => "info" }),
  /** Only entries written at or after this time (epoch ms). */
  since: Schema.optional(Schema.Number),
  runId: Schema.optional(Schema.String),
  /** At most this many of the recent entries (the newest); default all the ring holds. */
  limit: Schema.optional(Schema.Int.pipe(Schema.positive())),
  /** Keep streaming new entries until the client stops. */
  follow: Schema.optionalWith(Schema.Boolean, { default: () => false })
}) {}
