/** The `StartRun` payload: what a client asks the gateway to run. */
import { Schema } from "effect"
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
