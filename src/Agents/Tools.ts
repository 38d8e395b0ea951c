/**
 * The `Tools` service: what a run may do besides talking to its model. It owns the run's workspace (created when the
 * run first needs it, removed when the run ends), runs shell commands in it with an environment stripped of the
 * gateway's secrets, confines the file tools to it and starts subagents. The same code serves inline runs and worker
 * threads: each builds the layer from the config it has.
 */
import type * as Tool from "@effect/ai/Tool"
import type * as Toolkit from "@effect/ai/Toolkit"
import { CommandExecutor } from "@effect/platform/CommandExecutor"
import { FileSystem } from "@effect/platform/FileSystem"
import * as NodeContext from "@effect/platform-node/NodeContext"
import { Context, Effect, Either, Layer, ParseResult, Redacted, Schema, Scope, Stream } from "effect"
import * as os from "node:os"
import type { OpenclawConfig } from "../Config/ConfigSchema.js"
import { GatewayConfig } from "../Config/GatewayConfig.js"
import { AgentFailed } from "../Domain/RunError.js"
import type { AgentContext } from "./Agent.js"
import type { AgentOutput } from "./AgentOutput.js"
import * as AgentTools from "./AgentTools.js"
import * as CommandEnvironment from "./CommandEnvironment.js"
import * as FileTools from "./FileTools.js"
import * as ShellCommand from "./ShellCommand.js"
import { Subagents } from "./Subagents.js"
import * as Workspace from "./Workspace.js"

export interface ToolsOptions {
  /** Directory under which each run gets its own workspace (`agents.workspaceRoot`, default the system temp dir). */
  readonly workspaceRoot: string
  /** Deepest subagent a run may start (`agents.maxSubagentDepth`); 0 refuses every `spawn_subagent`. */
  readonly maxSubagentDepth: number
  /** Variables named by the config's `{"env": NAME}` secrets: never handed to commands. */
  readonly secretEnvNames: ReadonlyArray<string>
  /** The config's secret values: a variable holding one is never handed to commands, whatever its name. */
  readonly secretValues?: ReadonlyArray<string>
}

/** One call the model asked for. */
export interface ToolCall {
  readonly id: string
  readonly name: string
  readonly params: unknown
}

/** The tools of one run, bound to its workspace. */
export interface RunTools {
  /** The workspace's real path; it is created by the first thing that needs it (this, a command, a tool call). */
  readonly workspace: Effect.Effect<string, AgentFailed>
  /** The tools to offer the model. */
  readonly toolkit: Toolkit.WithHandler<Record<string, Tool.Any>>
  /**
   * Performs one call: `ToolCalled`, the tool's own events as they happen (`CommandOutput`/`CommandExited` of a
   * command, `SubagentEvent`s of a child), then `ToolResult`, whose `result` is what the model gets back. A refused or
   * failed call is a `ToolResult` with `isError: true`; the stream itself never fails.
   */
  readonly call: (call: ToolCall) => Stream.Stream<AgentOutput, never, Subagents>
  /** Runs a command as the `shell` tool does, without the tool framing (`StartRun.command`). */
  readonly command: (command: string) => Stream.Stream<AgentOutput, AgentFailed>
}

export interface ToolsService {
  /**
   * The tools of a run. Its workspace is created when first needed (a prompt-only run touches no disk) and removed
   * with everything in it when `scope` closes. The scope is handed in, not taken from the context: an agent's
   * `Effect.scopedWith` costs the run a fiber-ref update and restore less than `Effect.scoped`.
   */
  readonly open: (context: AgentContext, scope: Scope.Scope) => RunTools
}

export class Tools extends Context.Tag("openclaw/Tools")<Tools, ToolsService>() {}

/** Most characters of a command's output the model gets back (its end); the client still receives all of it. */
export const maxShellResultChars = 16 * 1024

const decodeParams = <A, I>(schema: Schema.Schema<A, I>, call: ToolCall): Either.Either<A, string> =>
  Either.mapLeft(
    Schema.decodeUnknownEither(schema)(call.params),
    (error) => `invalid parameters for ${call.name}: ${ParseResult.TreeFormatter.formatErrorSync(error)}`
  )

export const make = (options: ToolsOptions): Effect.Effect<ToolsService, never, FileSystem | CommandExecutor> =>
  Effect.gen(function*() {
    const fs = yield* FileSystem
    const executor = yield* CommandExecutor

    // No span of its own: opening is bookkeeping (the workspace is made on first use), inside the agent's span.
    const open = (context: AgentContext, scope: Scope.Scope): RunTools => {
      const make = Workspace.make(options.workspaceRoot).pipe(
        Effect.provideService(FileSystem, fs),
        Scope.extend(scope),
        Effect.mapError((error) =>
          new AgentFailed({ runId: context.runId, reason: `cannot create the run's workspace: ${error.message}` })
        )
      )
      // Made once, by the first thing that needs it; its cache is made then too: most runs (a prompt, no tools) never
      // touch the disk, and need no cache either. Two first uses at once share the first cache set.
      let cached: Effect.Effect<Workspace.Workspace, AgentFailed> | undefined
      const workspace: Effect.Effect<Workspace.Workspace, AgentFailed> = Effect.suspend(() =>
        cached ?? Effect.flatMap(Effect.cached(make), (made) => (cached ??= made))
      )

      const command = (line: string) =>
        Stream.unwrap(Effect.map(workspace, (directory) =>
          // The environment is read at each command, so a variable set after start-up is filtered too.
          ShellCommand.stream(context.runId, line, {
            cwd: directory.root,
            env: CommandEnvironment.make(process.env, options)
          }))).pipe(Stream.provideService(CommandExecutor, executor))

      const call = (call: ToolCall): Stream.Stream<AgentOutput, never, Subagents> => {
        const called: AgentOutput = { _tag: "ToolCalled", callId: call.id, name: call.name, params: call.params }
        const result = (isError: boolean, value: unknown): AgentOutput => ({
          _tag: "ToolResult",
          callId: call.id,
          name: call.name,
          isError,
          result: value
        })
        const refused = (reason: string) => Stream.make(result(true, reason))
        const fileTool = (
          perform: (directory: Workspace.Workspace) => Effect.Effect<unknown, FileTools.FileToolError>
        ) =>
          Stream.fromEffect(
            Effect.flatMap(workspace, perform).pipe(
              Effect.map((value) => result(false, value)),
              Effect.catchAll((error) => Effect.succeed(result(true, error.message)))
            )
          )
        const withParams = <A, I>(
          schema: Schema.Schema<A, I>,
          perform: (params: A) => Stream.Stream<AgentOutput, never, Subagents>
        ) => Either.match(decodeParams(schema, call), { onLeft: refused, onRight: perform })

        const shell = (line: string) =>
          Stream.suspend(() => {
            let tail = ""
            let total = 0
            let exitCode: number | undefined
            return command(line).pipe(
              Stream.tap((output) =>
                Effect.sync(() => {
                  if (output._tag === "CommandOutput") {
                    total += output.text.length
                    tail += output.text
                    if (tail.length > 2 * maxShellResultChars) tail = tail.slice(-maxShellResultChars)
                  } else if (output._tag === "CommandExited") {
                    exitCode = output.exitCode
                  }
                })
              ),
              Stream.concat(Stream.sync(() =>
                result(false, {
                  exitCode,
                  output: tail.slice(-maxShellResultChars),
                  truncated: total > maxShellResultChars
                })
              )),
              Stream.catchAll((error) => Stream.make(result(true, error.message)))
            )
          })

        const spawn = (prompt: string): Stream.Stream<AgentOutput, never, Subagents> => {
          if (context.depth >= options.maxSubagentDepth) {
            return refused(
              `subagents may nest at most ${options.maxSubagentDepth} deep (agents.maxSubagentDepth); ` +
                `this run is at depth ${context.depth}`
            )
          }
          const depth = context.depth + 1
          return Stream.unwrap(Effect.map(Subagents, (subagents) => {
            let answer: string | undefined
            return subagents.spawn({ parentRunId: context.runId, depth, prompt, model: context.model }).pipe(
              Stream.map((event): AgentOutput => {
                if (event._tag === "RunCompleted") answer = event.text
                return { _tag: "SubagentEvent", childRunId: event.runId, depth, event }
              }),
              Stream.concat(Stream.sync(() =>
                answer === undefined
                  ? result(true, "the subagent stopped without an answer")
                  : result(false, answer)
              )),
              Stream.catchAll((error) => Stream.make(result(true, `the subagent failed: ${error.message}`)))
            )
          }))
        }

        const perform = (): Stream.Stream<AgentOutput, never, Subagents> => {
          switch (call.name) {
            case "shell":
              return withParams(AgentTools.ShellParams, (params) => shell(params.command))
            case "read_file":
              return withParams(
                AgentTools.ReadFileParams,
                (params) => fileTool((directory) => FileTools.readFile(fs, directory, params.path))
              )
            case "write_file":
              return withParams(
                AgentTools.WriteFileParams,
                (params) => fileTool((directory) => FileTools.writeFile(fs, directory, params.path, params.content))
              )
            case "list_dir":
              return withParams(
                AgentTools.ListDirParams,
                (params) => fileTool((directory) => FileTools.listDir(fs, directory, params.path ?? "."))
              )
            case "spawn_subagent":
              return withParams(AgentTools.SpawnSubagentParams, (params) => spawn(params.prompt))
            default:
              return refused(`unknown tool "${call.name}"`)
          }
        }
        return Stream.concat(Stream.make(called), Stream.suspend(perform))
      }

      return {
        workspace: Effect.map(workspace, (directory) => directory.root),
        toolkit: AgentTools.toolkit,
        call,
        command
      }
    }

    return Tools.of({ open })
  })

/** Tools on Node's file system and processes. */
export const layer = (options: ToolsOptions): Layer.Layer<Tools> =>
  Layer.effect(Tools, make(options)).pipe(Layer.provide(NodeContext.layer))

/** Every decoded secret of the config (`Redacted` values, wherever they are). */
export const secretValuesOf = (value: unknown): ReadonlyArray<string> => {
  if (Redacted.isRedacted(value)) {
    const secret = Redacted.value(value)
    return typeof secret === "string" ? [secret] : []
  }
  if (typeof value !== "object" || value === null) return []
  return Object.values(value).flatMap(secretValuesOf)
}

export const optionsFromConfig = (
  config: OpenclawConfig,
  secretEnvNames: ReadonlyArray<string>
): ToolsOptions => ({
  workspaceRoot: config.agents.workspaceRoot ?? os.tmpdir(),
  maxSubagentDepth: config.agents.maxSubagentDepth,
  secretEnvNames,
  secretValues: secretValuesOf(config)
})

/** The variables named by `{"env": NAME}` secret references anywhere in a config file's contents. */
export const secretEnvNamesOf = (input: unknown): ReadonlyArray<string> => {
  if (typeof input !== "object" || input === null) return []
  const keys = Object.keys(input)
  if (keys.length === 1 && keys[0] === "env" && "env" in input && typeof input.env === "string") return [input.env]
  return Object.values(input).flatMap(secretEnvNamesOf)
}

/**
 * Tools configured by `agents.*`. The variables named by the config's `{"env": NAME}` secrets are found in the
 * config's file contents (`GatewayConfig.input`); `extraSecretEnvNames` adds more.
 */
export const layerConfig = (
  extraSecretEnvNames: ReadonlyArray<string> = []
): Layer.Layer<Tools, never, GatewayConfig> =>
  Layer.unwrapEffect(
    Effect.map(GatewayConfig, ({ config, input }) =>
      layer(optionsFromConfig(config, [...secretEnvNamesOf(input), ...extraSecretEnvNames]))
    )
  )
