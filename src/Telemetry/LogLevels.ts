/** Effect's log levels and the lower-case names the config, the log and `TailLogs` use, both ways. */
import { LogLevel } from "effect"
import type { LogLevelName } from "../Domain/LogEntry.js"

const names: Record<LogLevel.LogLevel["_tag"], LogLevelName> = {
  All: "trace",
  Trace: "trace",
  Debug: "debug",
  Info: "info",
  Warning: "warning",
  Error: "error",
  Fatal: "fatal",
  None: "fatal"
}

const levels: Record<LogLevelName, LogLevel.LogLevel> = {
  trace: LogLevel.Trace,
  debug: LogLevel.Debug,
  info: LogLevel.Info,
  warning: LogLevel.Warning,
  error: LogLevel.Error,
  fatal: LogLevel.Fatal
}

export const logLevelName = (level: LogLevel.LogLevel): LogLevelName => names[level._tag]

export const logLevelOf = (name: LogLevelName): LogLevel.LogLevel => levels[name]
