/**
 * The codex agent: in a fresh workspace, optionally runs the run's command, then runs the tool loop on the prompt
 * (plus the command's output): shell, file tools and subagents.
 */
import { Chunk, Context, Effect, Option, Stream } from "effect"
import { InvalidRequest } from "../Domain/RunError.js"
import type { Agent } from "./Agent.js"
import * as AgentLoop from "./AgentLoop.js"
import { Tools } from "./Tools.js"

/** Most command output quoted to the model; the client still receives all of it as `CommandOutput`. */
const maxQuotedOutput = 64 * 1024

const promptWithOutput = (prompt: string, command: string, output: string, exitCode: number | undefined): string => {
  const quoted = output.length > maxQuotedOutput
    ? `${output.slice(0, maxQuotedOutput)}\n[... ${output.length - maxQuotedOutput} more characters]`
    : output
  return `${prompt}\n\nThe command \`${command}\` exited with code ${exitCode ?? "unknown"}. Its output:\n${quoted}`
}

export const CodexAgent: Agent = {
  name: "codex",
  validate: (spec) =>
    spec.command === undefined && (spec.prompt === undefined || spec.prompt.trim() === "")
      ? Option.some(new InvalidRequest({ reason: "a run needs a prompt, a command or both" }))
      : Option.none(),
  // No span of its own: the run's (`RunSupervisor.run`, a worker's `Worker.run`) covers exactly this, and each span costs
  // the run a fiber-ref update, a context copy and a stack capture.
  run: (context, emit, services) =>
    Effect.scopedWith((scope) =>
      Effect.gen(function*() {
        // The workspace lives as long as the run: removed when it completes, fails or is interrupted.
        const tools = Context.get(services, Tools).open(context, scope)
        const prompt = context.spec.prompt ?? ""
        const command = context.spec.command
        if (command === undefined) return yield* AgentLoop.run(context, tools, prompt, emit, services)
        let output = ""
        let exitCode: number | undefined
        yield* Stream.runForEachChunk(tools.command(command), (events) => {
          for (const event of events) {
            if (event._tag === "CommandOutput") output += event.text
            else if (event._tag === "CommandExited") exitCode = event.exitCode
          }
          return emit(events)
        })
        if (prompt.trim() === "") return yield* emit(Chunk.of(AgentLoop.completed("", AgentLoop.noUsage)))
        return yield* AgentLoop.run(context, tools, promptWithOutput(prompt, command, output, exitCode), emit, services)
      })
    ).pipe(Effect.asVoid)
}
