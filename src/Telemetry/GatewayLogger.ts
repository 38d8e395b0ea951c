/**
 * The gateway's logger: every entry goes to the log ring (for `openclaw gateway logs`) and to stdout, as one JSON
 * line (`logging.format: "json"`, for log shippers) or one readable line (`"pretty"`; `"auto"` picks pretty on a
 * terminal and JSON otherwise), with level, time, fiber, trace and span ids and the run id when the entry was
 * written inside a run. `logging.level` filters both.
 */
import {
  Cause,
  Context,
  Effect,
  FiberId,
  FiberRef,
  FiberRefs,
  HashMap,
  Layer,
  Logger,
  Option,
  Schema,
  Tracer
} from "effect"
import * as util from "node:util"
import { GatewayConfig } from "../Config/GatewayConfig.js"
import { LogEntry } from "../Domain/LogEntry.js"
import { logLevelName, logLevelOf } from "./LogLevels.js"
import { LogRing, type LogRingService } from "./LogRing.js"

const render = (value: unknown): string =>
  typeof value === "string" ? value : util.inspect(value, { depth: 4, breakLength: Infinity })

/** An Effect log call's parts as a `LogEntry` numbered `seq`. */
export const toEntry = (options: Logger.Logger.Options<unknown>, seq: number): LogEntry => {
  const span = Option.flatMap(
    FiberRefs.get(options.context, FiberRef.currentContext),
    Context.getOption(Tracer.ParentSpan)
  )
  const annotations: Record<string, string> = {}
  let runId: string | undefined
  for (const [key, value] of HashMap.toEntries(options.annotations)) {
    if (key === "runId") runId = render(value)
    else annotations[key] = render(value)
  }
  return new LogEntry({
    seq,
    at: options.date.getTime(),
    level: logLevelName(options.logLevel),
    message: Array.isArray(options.message) ? options.message.map(render).join(" ") : render(options.message),
    fiber: FiberId.threadName(options.fiberId),
    ...(Option.isSome(span) ? { traceId: span.value.traceId, spanId: span.value.spanId } : {}),
    ...(runId === undefined ? {} : { runId }),
    ...(Cause.isEmpty(options.cause) ? {} : { cause: Cause.pretty(options.cause, { renderErrorCause: true }) }),
    annotations
  })
}

const encodeEntry = Schema.encodeSync(LogEntry)

export const jsonLine = (entry: LogEntry): string => JSON.stringify(encodeEntry(entry)) + "\n"

/** `12:00:01.234 INFO  message key=value (run abc)`; the CLI colours the same shape. */
export const prettyLine = (entry: LogEntry): string => {
  const time = new Date(entry.at).toISOString().slice(11, 23)
  const extras = Object.entries(entry.annotations).map(([key, value]) => ` ${key}=${value}`).join("")
  const run = entry.runId === undefined ? "" : ` run=${entry.runId}`
  const cause = entry.cause === undefined ? "" : `\n${entry.cause}`
  return `${time} ${entry.level.toUpperCase().padEnd(7)} ${entry.message}${extras}${run}${cause}\n`
}

export const make = (ring: LogRingService, format: "json" | "pretty", write: (line: string) => void) =>
  Logger.make((options) => {
    const entry = toEntry(options, ring.nextSeq())
    ring.append(entry)
    write(format === "json" ? jsonLine(entry) : prettyLine(entry))
  })

/** `auto`: people read a terminal, programs read everything else. */
export const formatOf = (format: "auto" | "json" | "pretty", terminal: boolean): "json" | "pretty" =>
  format === "auto" ? (terminal ? "pretty" : "json") : format

/**
 * Replaces Effect's default logger for everything built with this layer, at the configured level (entries below it
 * are neither printed nor kept in the ring).
 */
export const layer = (
  write: (line: string) => void = (line) => void process.stdout.write(line)
): Layer.Layer<never, never, GatewayConfig | LogRing> =>
  Layer.unwrapEffect(
    Effect.map(Effect.all([GatewayConfig, LogRing]), ([{ config }, ring]) =>
      Layer.merge(
        Logger.replace(Logger.defaultLogger, make(ring, formatOf(config.logging.format, process.stdout.isTTY === true), write)),
        Logger.minimumLogLevel(logLevelOf(config.logging.level))
      ))
  )
