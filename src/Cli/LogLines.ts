/** Log entries as the CLI prints them: the gateway's pretty line, the level coloured on a terminal. */
import type { LogEntry, LogLevelName } from "../Domain/LogEntry.js"
import { prettyLine } from "../Telemetry/GatewayLogger.js"

const levelColours: Record<LogLevelName, string> = {
  trace: "\x1b[90m",
  debug: "\x1b[36m",
  info: "\x1b[32m",
  warning: "\x1b[33m",
  error: "\x1b[31m",
  fatal: "\x1b[35m"
}

/** One entry as the gateway's pretty format prints it, the level coloured when stdout is a terminal. */
export const describeEntry = (entry: LogEntry, colour: boolean): string => {
  const line = prettyLine(entry)
  if (!colour) return line
  const level = entry.level.toUpperCase()
  const at = line.indexOf(level)
  return `\x1b[2m${line.slice(0, at)}\x1b[0m${levelColours[entry.level]}${level}\x1b[0m${line.slice(at + level.length)}`
}
