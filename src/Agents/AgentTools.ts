/**
 * The tools agents offer the model, declared without handlers: a model may only call offered tools, and the agent
 * reports its calls as `ToolCalled`. Executing them (the Tools layer) comes later and replaces `handle`.
 */
import { Tool, type Toolkit } from "@effect/ai"
import { Effect, Schema } from "effect"

/** Parameters are passed through as the model wrote them: any JSON object. */
const AnyParameters = Schema.Struct({}, Schema.Record({ key: Schema.String, value: Schema.Unknown }))

export interface ToolDeclaration {
  readonly name: string
  readonly description: string
}

export const codexTools: ReadonlyArray<ToolDeclaration> = [
  { name: "shell", description: "Run a shell command in the run's workspace" },
  { name: "read_file", description: "Read a file of the run's workspace" },
  { name: "write_file", description: "Write a file of the run's workspace" },
  { name: "spawn_subagent", description: "Start a subagent with a prompt" }
]

export const subagentTools: ReadonlyArray<ToolDeclaration> = codexTools.filter((tool) => tool.name !== "spawn_subagent")

/** A toolkit that declares the tools to the model; with tool-call resolution disabled `handle` is never called. */
export const declare = (tools: ReadonlyArray<ToolDeclaration>): Toolkit.WithHandler<Record<string, Tool.Any>> => ({
  tools: Object.fromEntries(
    tools.map((tool) => [
      tool.name,
      Tool.make(tool.name, { description: tool.description }).setParameters(AnyParameters)
    ])
  ),
  handle: (name) => Effect.dieMessage(`tool "${String(name)}" cannot be executed yet`)
})
