/**
 * Finds, reads and decodes `openclaw.json`. Lookup order: an explicit path (`--config`), else
 * `$OPENCLAW_CONFIG`, else `./openclaw.json`, else `~/.openclaw/openclaw.json`, else the embedded
 * defaults. Every problem becomes one `ConfigError` that names the file and, per problem, the JSON
 * path and what was expected, so `config validate` and a refused gateway start read the same.
 */
import * as FileSystem from "@effect/platform/FileSystem"
import * as Path from "@effect/platform/Path"
import { Effect, Either, Option, ParseResult, Redacted, Schema } from "effect"
import * as os from "node:os"
import { OpenclawConfig } from "./ConfigSchema.js"
import { findJsonSyntaxError } from "./JsonPosition.js"

export const ConfigIssue = Schema.Struct({
  /** JSON path such as `acp.codex.maxMessageSize`; "" when the problem is the whole file. */
  path: Schema.String,
  message: Schema.String
})
export type ConfigIssue = typeof ConfigIssue.Type

export class ConfigError extends Schema.TaggedError<ConfigError>("openclaw/ConfigError")("ConfigError", {
  reason: Schema.Literal("NotFound", "Unreadable", "InvalidJson", "InvalidConfig"),
  /** The file at fault; null for the embedded defaults. */
  file: Schema.NullOr(Schema.String),
  issues: Schema.Array(ConfigIssue)
}) {
  override get message(): string {
    const lines = this.issues.map((issue) => `  ${issue.path === "" ? "" : `${issue.path}: `}${issue.message}`)
    return [`openclaw.json error in ${this.file ?? "<embedded defaults>"}:`, ...lines].join("\n")
  }
}

/** Where the lookup looks; each defaults to the process's own, so tests can pass temp dirs instead. */
export interface LookupOptions {
  readonly cwd?: string
  /** Default `os.homedir()` (which honours $HOME). */
  readonly home?: string
  readonly env?: Readonly<Record<string, string | undefined>>
  /** CPU cores the warnings compare `maxThreads` with. Default `os.availableParallelism()`. */
  readonly cores?: number
}

export interface LoadedConfig {
  readonly config: OpenclawConfig
  /** The file read; none when running on the embedded defaults. */
  readonly file: Option.Option<string>
  /** The file's parsed JSON, before decoding: worker threads decode it again (secrets included) for themselves. */
  readonly input: unknown
  /** Accepted but dubious settings, for the caller to log. */
  readonly warnings: ReadonlyArray<string>
}

const fileName = "openclaw.json"

/** The config file to read, if any. An explicit path (flag or env) that does not exist is an error. */
export const resolveConfigPath = Effect.fn("ConfigLoader.resolveConfigPath")(function*(
  explicit: Option.Option<string>,
  options: LookupOptions = {}
) {
  const fs = yield* FileSystem.FileSystem
  const path = yield* Path.Path
  const cwd = options.cwd ?? process.cwd()
  const fromEnv = Option.fromNullable((options.env ?? process.env)["OPENCLAW_CONFIG"]).pipe(
    Option.filter((value) => value !== "")
  )
  const exists = (file: string) =>
    fs.exists(file).pipe(
      Effect.mapError((error) =>
        new ConfigError({ reason: "Unreadable", file, issues: [{ path: "", message: error.message }] })
      )
    )
  const given = Option.orElse(
    Option.map(explicit, (file) => ({ file, source: "the command line" })),
    () => Option.map(fromEnv, (file) => ({ file, source: "OPENCLAW_CONFIG" }))
  )
  if (Option.isSome(given)) {
    const file = path.resolve(cwd, given.value.file)
    if (yield* exists(file)) return Option.some(file)
    return yield* new ConfigError({
      reason: "NotFound",
      file,
      issues: [{ path: "", message: `file not found (given by ${given.value.source})` }]
    })
  }
  for (const file of [path.join(cwd, fileName), path.join(options.home ?? os.homedir(), ".openclaw", fileName)]) {
    if (yield* exists(file)) return Option.some(file)
  }
  return Option.none<string>()
})

/** Finds and decodes the config (see the module header for the lookup order). */
export const loadConfig = Effect.fn("ConfigLoader.loadConfig")(function*(
  explicit: Option.Option<string>,
  options: LookupOptions = {}
) {
  const fs = yield* FileSystem.FileSystem
  const file = yield* resolveConfigPath(explicit, options)
  const input = Option.isNone(file) ? {} : yield* fs.readFileString(file.value).pipe(
    Effect.mapError((error) =>
      new ConfigError({ reason: "Unreadable", file: file.value, issues: [{ path: "", message: error.message }] })
    ),
    Effect.flatMap((text) => parseConfigText(text, file.value))
  )
  const config = yield* decodeConfig(input, Option.getOrNull(file))
  const loaded: LoadedConfig = { config, file, input, warnings: configWarnings(config, options.cores) }
  return loaded
})

/** Parses the file's text; a blank file counts as `{}`. */
export const parseConfigText = (text: string, file: string | null): Either.Either<unknown, ConfigError> => {
  const body = text.replace(/^\uFEFF/, "")
  if (body.trim() === "") return Either.right({})
  try {
    return Either.right(JSON.parse(body))
  } catch (error) {
    const located = findJsonSyntaxError(body)
    const message = located === undefined
      ? `invalid JSON: ${error instanceof Error ? error.message : String(error)}`
      : `invalid JSON at line ${located.line}, column ${located.column}: ${located.message}`
    return Either.left(new ConfigError({ reason: "InvalidJson", file, issues: [{ path: "", message }] }))
  }
}

/** Decodes a parsed `openclaw.json` value: unknown keys are errors, every problem is reported. */
export const decodeConfig = (input: unknown, file: string | null): Either.Either<OpenclawConfig, ConfigError> =>
  Schema.decodeUnknownEither(OpenclawConfig, { onExcessProperty: "error", errors: "all" })(input).pipe(
    Either.mapLeft((error) => new ConfigError({ reason: "InvalidConfig", file, issues: formatIssues(error) }))
  )

/** Settings that are valid but probably not what the user wants. */
export const configWarnings = (config: OpenclawConfig, cores: number = os.availableParallelism()): Array<string> => {
  const warnings: Array<string> = []
  const { maxThreads } = config.agents.threadPool
  if (maxThreads > cores) {
    warnings.push(
      `agents.threadPool.maxThreads (${maxThreads}) exceeds the number of CPU cores (${cores}): ` +
        "runs beyond that compete for CPU"
    )
  }
  return warnings
}

/** The decoded config as pretty JSON, for `config validate`; secrets print as "<redacted>". */
export const renderConfig = (config: OpenclawConfig): string =>
  JSON.stringify(config, (_key, value: unknown) => Redacted.isRedacted(value) ? "<redacted>" : value, 2)

// ---------------------------------------------------------------------------------------------
// Error formatting: one line per path, with a union's alternatives folded into one "expected".
// ---------------------------------------------------------------------------------------------

const renderPath = (path: ReadonlyArray<PropertyKey>): string =>
  path.reduce<string>((out, key) => {
    if (typeof key === "number") return `${out}[${key}]`
    const name = String(key)
    if (/^[A-Za-z_$][A-Za-z0-9_$]*$/.test(name)) return out === "" ? name : `${out}.${name}`
    return `${out}[${JSON.stringify(name)}]`
  }, "")

/** Schema's names for encoded shapes, in words a config author knows. */
const renderExpected = (expected: string): string => {
  if (expected.startsWith("{ readonly env:")) return "{\"env\": \"NAME\"}"
  if (expected.startsWith("{") || expected.startsWith("Struct")) return "an object"
  if (expected.startsWith("ReadonlyArray<")) return "an array"
  return expected
}

const expectedPattern = /^Expected ([\s\S]*), actual ([\s\S]*)$/
const unexpectedPattern = /^is unexpected, expected: ([\s\S]*)$/

const formatIssues = (error: ParseResult.ParseError): Array<ConfigIssue> => {
  const groups = new Map<string, { expected: Array<string>; actual: string; other: Array<string> }>()
  for (const issue of ParseResult.ArrayFormatter.formatErrorSync(error)) {
    const path = renderPath(issue.path)
    const group = groups.get(path) ?? { expected: [], actual: "", other: [] }
    groups.set(path, group)
    const expected = expectedPattern.exec(issue.message)
    const unexpected = unexpectedPattern.exec(issue.message)
    if (expected !== null) {
      const what = renderExpected(expected[1] ?? "")
      if (!group.expected.includes(what)) group.expected.push(what)
      group.actual = expected[2] ?? ""
    } else if (issue._tag === "Unexpected" && unexpected !== null) {
      group.other.push(`unknown key (expected one of ${unexpected[1] ?? ""})`)
    } else if (issue._tag === "Missing") {
      group.other.push("required key is missing")
    } else if (!group.other.includes(issue.message)) {
      group.other.push(issue.message)
    }
  }
  return Array.from(groups, ([path, group]) => {
    const expected = group.expected.length > 0 ? [`expected ${group.expected.join(" | ")}, got ${group.actual}`] : []
    return [...expected, ...group.other].map((message) => ({ path, message }))
  }).flat()
}
