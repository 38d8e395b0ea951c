/**
 * The tools agents offer the model: names, descriptions and parameter schemas. The model is shown the strict JSON
 * Schema of each tool's parameters, but the response decoder accepts any JSON object, so a malformed call becomes a
 * tool error the model can correct (see `Tools`) instead of failing the whole run as a provider error.
 */
import * as Tool from "@effect/ai/Tool"
import type * as Toolkit from "@effect/ai/Toolkit"
import { Data, Effect, Schema } from "effect"

export const ShellParams = Schema.Struct({
  command: Schema.String.pipe(Schema.minLength(1)).annotations({
    description: "A command for /bin/sh -c, run in the workspace directory"
  })
})

export const ReadFileParams = Schema.Struct({
  path: Schema.String.annotations({ description: "A path relative to the workspace" })
})

export const WriteFileParams = Schema.Struct({
  path: Schema.String.annotations({ description: "A path relative to the workspace; missing directories are created" }),
  content: Schema.String.annotations({ description: "The whole new content of the file (UTF-8)" })
})

export const ListDirParams = Schema.Struct({
  path: Schema.optional(Schema.String.annotations({ description: "A directory relative to the workspace; default ." }))
})

export const SpawnSubagentParams = Schema.Struct({
  prompt: Schema.String.pipe(Schema.minLength(1)).annotations({ description: "The instruction for the subagent" })
})

/** A tool call that is not performed (bad parameters, a limit); the model gets the message as an error result. */
export class ToolRefused extends Data.TaggedError("ToolRefused")<{ readonly reason: string }> {
  override get message() {
    return this.reason
  }
}

/** A tool as the model sees it. */
export interface ToolDeclaration {
  readonly name: ToolName
  readonly description: string
  readonly parameters: Schema.Schema.AnyNoContext
}

export type ToolName = "shell" | "read_file" | "write_file" | "list_dir" | "spawn_subagent"

export const declarations: ReadonlyArray<ToolDeclaration> = [
  {
    name: "shell",
    description: "Run a shell command in the run's workspace; returns its exit code and the end of its output",
    parameters: ShellParams
  },
  {
    name: "read_file",
    description: "Read a UTF-8 file of the run's workspace (at most 1 MB)",
    parameters: ReadFileParams
  },
  {
    name: "write_file",
    description: "Create or replace a file of the run's workspace (at most 1 MB)",
    parameters: WriteFileParams
  },
  { name: "list_dir", description: "List a directory of the run's workspace", parameters: ListDirParams },
  {
    name: "spawn_subagent",
    description: "Start a subagent with a prompt; returns its final answer",
    parameters: SpawnSubagentParams
  }
]

/** Accepts any JSON object, whatever JSON Schema it is annotated with. */
const AnyParameters = Schema.Struct({}, Schema.Record({ key: Schema.String, value: Schema.Unknown }))

/**
 * A toolkit that declares the tools to the model. Agents stream with tool-call resolution disabled and execute calls
 * themselves (commands stream their output while they run), so `handle` is never called.
 */
export const declare = (tools: ReadonlyArray<ToolDeclaration>): Toolkit.WithHandler<Record<string, Tool.Any>> => ({
  tools: Object.fromEntries(
    tools.map((tool) => [
      tool.name,
      Tool.make(tool.name, { description: tool.description }).setParameters(
        AnyParameters.annotations({ jsonSchema: Tool.getJsonSchemaFromSchemaAst(tool.parameters.ast) })
      )
    ])
  ),
  handle: (name) => Effect.dieMessage(`tool "${String(name)}" is executed by the agent, not the toolkit`)
})

/** Every tool, as offered to the codex agent and to subagents. */
export const toolkit = declare(declarations)
