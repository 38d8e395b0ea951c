/** The `StartRun` payload: what a client asks the gateway to run. */
import { Either, type ParseResult, Schema } from "effect"
import { compiledIs } from "./CompiledIs.js"
import { AgentName, RunMode } from "./Ids.js"

/** Prompts and commands are bounded so that one request cannot hold unbounded memory. */
export const MaxPromptLength = 1_000_000

export class StartRun extends Schema.Class<StartRun>("openclaw/StartRun")({
  /** Agent to run; omitted means `acp.defaultAgent`. */
  agent: Schema.optional(AgentName),
  /** `thread-bound` (default) or `inline`. */
  mode: Schema.optionalWith(RunMode, { default: () => "thread-bound" }),
  /** The instruction for the agent. */
  prompt: Schema.optional(Schema.String.pipe(Schema.maxLength(MaxPromptLength))),
  /** A shell command for the agent to run in the run's workspace. */
  command: Schema.optional(Schema.String.pipe(Schema.minLength(1), Schema.maxLength(MaxPromptLength))),
  /** Wall-clock limit for the whole run, in milliseconds; omitted means `runs.defaultTimeoutMs`. */
  timeoutMs: Schema.optional(Schema.Int.pipe(Schema.positive())),
  /** `provider/model`, e.g. `mock/mock-1`; omitted means `models.default`. */
  model: Schema.optional(Schema.String.pipe(Schema.minLength(1), Schema.maxLength(200)))
}) {}

const isStartRunEncoded = compiledIs(Schema.encodedBoundSchema(StartRun))
const decodeStartRunFully = Schema.decodeUnknownEither(StartRun)

/**
 * `Schema.decodeUnknownEither(StartRun)`, with the usual valid payload checked by compiled predicates and built
 * directly (excess keys dropped, `mode` defaulted, as the decode does): the parser's decode was ~1.5% of the gateway's
 * main thread at 100 runs. A payload the check refuses is decoded in full, for the same error.
 */
export const decodeStartRun = (input: unknown): Either.Either<StartRun, ParseResult.ParseError> => {
  // A JSON object, as every payload is: anything else (an array, a class) is left to the decode.
  if (!isStartRunEncoded(input) || Object.getPrototypeOf(input) !== Object.prototype) return decodeStartRunFully(input)
  // Present keys only, `undefined` ones included, as the decode keeps them.
  const has = (key: keyof typeof input) => Object.hasOwn(input, key)
  return Either.right(
    new StartRun({
      ...(has("agent") ? { agent: input.agent } : {}),
      // An absent or undefined mode is defaulted by the constructor, as by the decode.
      ...(input.mode === undefined ? {} : { mode: input.mode }),
      ...(has("prompt") ? { prompt: input.prompt } : {}),
      ...(has("command") ? { command: input.command } : {}),
      ...(has("timeoutMs") ? { timeoutMs: input.timeoutMs } : {}),
      ...(has("model") ? { model: input.model } : {})
    }, true)
  )
}
