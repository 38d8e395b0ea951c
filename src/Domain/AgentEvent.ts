/**
 * The events of one run, as the client sees them. Every event carries the run's id, a per-run
 * `seq` (0, 1, 2, ... without gaps, assigned by the gateway's supervisor) and the time it was
 * emitted (`at`, epoch milliseconds).
 */
import { Schema } from "effect"
import { AgentName, RunId, RunMode } from "./Ids.js"
import { Usage } from "./Usage.js"

const common = {
  runId: RunId,
  seq: Schema.Int.pipe(Schema.nonNegative()),
  at: Schema.Number
}

/** The run waits for a slot; `position` is 1 for the next run to start. */
export class RunQueued extends Schema.TaggedClass<RunQueued>()("RunQueued", {
  ...common,
  position: Schema.Int.pipe(Schema.positive())
}) {}

export class RunStarted extends Schema.TaggedClass<RunStarted>()("RunStarted", {
  ...common,
  agent: AgentName,
  mode: RunMode,
  model: Schema.String
}) {}

/** A piece of the model's text, in order. */
export class TokenDelta extends Schema.TaggedClass<TokenDelta>()("TokenDelta", {
  ...common,
  text: Schema.String
}) {}

/** The model asked for a tool; `params` is the tool's JSON input. */
export class ToolCalled extends Schema.TaggedClass<ToolCalled>()("ToolCalled", {
  ...common,
  callId: Schema.String,
  name: Schema.String,
  params: Schema.Unknown
}) {}

/** A tool's result, as given back to the model. */
export class ToolResult extends Schema.TaggedClass<ToolResult>()("ToolResult", {
  ...common,
  callId: Schema.String,
  name: Schema.String,
  isError: Schema.Boolean,
  result: Schema.Unknown
}) {}

/** Output of a command the run executes, as it is produced. */
export class CommandOutput extends Schema.TaggedClass<CommandOutput>()("CommandOutput", {
  ...common,
  stream: Schema.Literal("stdout", "stderr"),
  text: Schema.String
}) {}

export class CommandExited extends Schema.TaggedClass<CommandExited>()("CommandExited", {
  ...common,
  exitCode: Schema.Int
}) {}

/** The last event of a successful run. `text` is the model's whole reply. */
export class RunCompleted extends Schema.TaggedClass<RunCompleted>()("RunCompleted", {
  ...common,
  text: Schema.String,
  usage: Usage,
  durationMs: Schema.Number
}) {}

export const AgentEvent = Schema.Union(
  RunQueued,
  RunStarted,
  TokenDelta,
  ToolCalled,
  ToolResult,
  CommandOutput,
  CommandExited,
  RunCompleted
)
export type AgentEvent = typeof AgentEvent.Type
