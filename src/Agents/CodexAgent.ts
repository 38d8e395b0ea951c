/**
 * The codex agent: optionally runs the run's command in a fresh temporary workspace, then prompts the model with the
 * prompt plus the command's output.
 */
import type { CommandExecutor } from "@effect/platform/CommandExecutor"
import { FileSystem } from "@effect/platform/FileSystem"
import { Effect, Option, Stream } from "effect"
import * as os from "node:os"
import { AgentFailed, InvalidRequest, type ProviderFailed } from "../Domain/RunError.js"
import type { Agent, AgentContext } from "./Agent.js"
import { completed, noUsage, promptModel } from "./AgentLoop.js"
import type { AgentOutput } from "./AgentOutput.js"
import { codexTools } from "./AgentTools.js"
import * as ShellCommand from "./ShellCommand.js"

/** Most command output quoted to the model; the client still receives all of it as `CommandOutput`. */
const maxQuotedOutput = 64 * 1024

const promptWithOutput = (prompt: string, command: string, output: string, exitCode: number | undefined): string => {
  const quoted = output.length > maxQuotedOutput
    ? `${output.slice(0, maxQuotedOutput)}\n[... ${output.length - maxQuotedOutput} more characters]`
    : output
  return `${prompt}\n\nThe command \`${command}\` exited with code ${exitCode ?? "unknown"}. Its output:\n${quoted}`
}

const withCommand = (
  context: AgentContext,
  command: string
): Stream.Stream<AgentOutput, AgentFailed | ProviderFailed, CommandExecutor | FileSystem> =>
  Stream.unwrapScoped(Effect.gen(function*() {
    const fs = yield* FileSystem
    // Removed when the run's stream ends, whether it completes, fails or is interrupted.
    const workspace = yield* fs.makeTempDirectoryScoped({ directory: os.tmpdir(), prefix: "openclaw-run-" }).pipe(
      Effect.mapError((error) =>
        new AgentFailed({ runId: context.runId, reason: `cannot create the run's workspace: ${error.message}` })
      )
    )
    let output = ""
    let exitCode: number | undefined
    const commandOutputs = ShellCommand.stream(context.runId, command, workspace).pipe(
      Stream.tap((event) =>
        Effect.sync(() => {
          if (event._tag === "CommandOutput") output += event.text
          else if (event._tag === "CommandExited") exitCode = event.exitCode
        })
      )
    )
    const afterwards = Stream.suspend(() => {
      const prompt = context.spec.prompt
      return prompt === undefined || prompt.trim() === ""
        ? Stream.make(completed("", noUsage))
        : promptModel(context, promptWithOutput(prompt, command, output, exitCode), codexTools)
    })
    return Stream.concat(commandOutputs, afterwards)
  }))

export const CodexAgent: Agent<CommandExecutor | FileSystem> = {
  name: "codex",
  validate: (spec) =>
    spec.command === undefined && (spec.prompt === undefined || spec.prompt.trim() === "")
      ? Option.some(new InvalidRequest({ reason: "a run needs a prompt, a command or both" }))
      : Option.none(),
  run: (context) =>
    (context.spec.command === undefined
      ? promptModel(context, context.spec.prompt ?? "", codexTools)
      : withCommand(context, context.spec.command)).pipe(Stream.withSpan("CodexAgent.run"))
}
