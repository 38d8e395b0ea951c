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

/**
 * The run waits for a slot; `position` is 1 for the next run to start. Sent when the run joins the queue, then as it
 * moves up: at most every 100 ms, with the place at that moment, so a run may skip places (several runs ahead leaving
 * meanwhile) but never goes back.
 */
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

/** A piece of the model's text, in order: the deltas that arrived together, joined (see `runs.tokenFlushMs`). */
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

/**
 * An event of a subagent run started by this run's `spawn_subagent` tool, forwarded as it happens. `event` is the
 * child's own event (its `runId`, `seq` and `at`); `depth` is the child's (1 for a child of a client's run). A
 * grandchild's events arrive wrapped twice.
 */
export class SubagentEvent extends Schema.TaggedClass<SubagentEvent>()("SubagentEvent", {
  ...common,
  childRunId: RunId,
  depth: Schema.Int.pipe(Schema.positive()),
  event: Schema.suspend((): Schema.Schema<AgentEvent, AgentEventEncoded> => AgentEvent)
}) {}

export type AgentEvent =
  | RunQueued
  | RunStarted
  | TokenDelta
  | ToolCalled
  | ToolResult
  | CommandOutput
  | CommandExited
  | RunCompleted
  | SubagentEvent

/** The JSON form of an event, written out because `SubagentEvent` makes the union recursive. */
export type AgentEventEncoded =
  | typeof RunQueued.Encoded
  | typeof RunStarted.Encoded
  | typeof TokenDelta.Encoded
  | typeof ToolCalled.Encoded
  | typeof ToolResult.Encoded
  | typeof CommandOutput.Encoded
  | typeof CommandExited.Encoded
  | typeof RunCompleted.Encoded
  | SubagentEventEncoded

export interface SubagentEventEncoded {
  readonly _tag: "SubagentEvent"
  readonly runId: string
  readonly seq: number
  readonly at: number
  readonly childRunId: string
  readonly depth: number
  readonly event: AgentEventEncoded
}

export const AgentEvent: Schema.Schema<AgentEvent, AgentEventEncoded> = Schema.Union(
  RunQueued,
  RunStarted,
  TokenDelta,
  ToolCalled,
  ToolResult,
  CommandOutput,
  CommandExited,
  RunCompleted,
  SubagentEvent
)
