/** `openclaw run`: starts a run over the WebSocket or HTTP and streams it to the terminal. */
import { Command, Options, ValidationError } from "@effect/cli"
import { HelpDoc } from "@effect/cli"
import { Effect, Option, Schema, type Scope, Stream } from "effect"
import {
  type GatewayClientConfigError,
  type GatewayClientError,
  make as makeGatewayClient,
  type SessionError,
  type StartRunSpec
} from "../Client/GatewayClient.js"
import { make as makeHttpRunClient } from "../Client/HttpRunClient.js"
import { AgentEvent } from "../Domain/AgentEvent.js"
import type { RunError } from "../Domain/RunError.js"
import { CliExit, ExitCode, writeOut, writeErr, clientOptions, configFailure, clientSettings } from "./CliCommon.js"

const positiveSeconds = (seconds: number) =>
  Number.isFinite(seconds) && seconds > 0
    ? Effect.succeed(seconds)
    : Effect.fail(
      ValidationError.invalidValue(HelpDoc.p(`--timeout must be a positive number of seconds, got ${seconds}`))
    )

const runExitCode = (error: RunError | GatewayClientError | SessionError): number => {
  switch (error._tag) {
    case "RunTimedOut":
      return ExitCode.timedOut
    case "GatewayUnreachable":
    case "GatewayShuttingDown":
      return ExitCode.unreachable
    case "TokenRejected":
      return ExitCode.tokenRejected
    default:
      return ExitCode.runFailed
  }
}

const encodeEvent = Schema.encodeSync(AgentEvent)

export const run = Command.make("run", {
  ...clientOptions,
  agent: Options.text("agent").pipe(Options.withAlias("a"), Options.withDescription("Agent to run"), Options.optional),
  mode: Options.choice("mode", ["thread-bound", "inline"]).pipe(
    Options.withAlias("m"),
    Options.withDescription("Where the run executes (default thread-bound)"),
    Options.optional
  ),
  prompt: Options.text("prompt").pipe(Options.withAlias("p"), Options.withDescription("Instruction"), Options.optional),
  command: Options.text("command").pipe(
    Options.withAlias("c"),
    Options.withDescription("Shell command for the agent to run in its workspace"),
    Options.optional
  ),
  timeout: Options.float("timeout").pipe(
    Options.withAlias("t"),
    Options.withDescription("Wall-clock limit of the run, in seconds"),
    Options.mapEffect(positiveSeconds),
    Options.optional
  ),
  model: Options.text("model").pipe(Options.withDescription("provider/model, e.g. mock/mock-1"), Options.optional),
  transport: Options.choice("transport", ["websocket", "http"]).pipe(
    Options.withDescription("WebSocket RPC, or HTTP with SSE (default: acp.codex.transport, else websocket)"),
    Options.optional
  )
}, (flags) =>
  Effect.gen(function*() {
    if (Option.isNone(flags.prompt) && Option.isNone(flags.command)) {
      return yield* new CliExit({
        code: ExitCode.usage,
        message: "openclaw run: give --prompt TEXT and/or --command CMD"
      })
    }
    const spec: StartRunSpec = {
      ...Option.match(flags.mode, { onNone: () => ({}), onSome: (mode) => ({ mode }) }),
      agent: Option.getOrUndefined(flags.agent),
      prompt: Option.getOrUndefined(flags.prompt),
      command: Option.getOrUndefined(flags.command),
      timeoutMs: Option.getOrUndefined(Option.map(flags.timeout, (seconds) => Math.max(1, Math.round(seconds * 1000)))),
      model: Option.getOrUndefined(flags.model)
    }
    let runId: string | undefined
    let atLineStart = true
    let commandExitCode = 0
    let summary: string | undefined
    const text = (chunk: string, stream: "stdout" | "stderr") =>
      Effect.sync(() => {
        if (chunk === "") return
        ;(stream === "stdout" ? process.stdout : process.stderr).write(chunk)
        if (stream === "stdout") atLineStart = chunk.endsWith("\n")
      })
    const endLine = Effect.suspend(() => (atLineStart ? Effect.void : text("\n", "stdout")))

    // Only the `--command` runs before the model's first tool call; later CommandExited events are tool calls.
    let sawToolCall = false
    const onEvent = (event: AgentEvent): Effect.Effect<void> => {
      runId = event.runId
      if (event._tag === "ToolCalled") sawToolCall = true
      if (event._tag === "CommandExited" && !sawToolCall) commandExitCode = event.exitCode
      // The summary on stderr in both modes (with --json too, where stdout is the events).
      if (event._tag === "RunCompleted") {
        summary = `run ${event.runId} completed in ${(event.durationMs / 1000).toFixed(1)}s, ` +
          `${event.usage.outputTokens} tokens out`
      }
      if (flags.json) return writeOut(JSON.stringify(encodeEvent(event)) + "\n")
      switch (event._tag) {
        case "TokenDelta":
          return text(event.text, "stdout")
        case "CommandOutput":
          return text(event.text, event.stream)
        case "ToolCalled":
          return Effect.zipRight(endLine, writeErr(`[tool ${event.name} ${JSON.stringify(event.params)}]\n`))
        case "ToolResult":
          return event.isError ? writeErr(`[tool ${event.name} failed: ${JSON.stringify(event.result)}]\n`) : Effect.void
        case "SubagentEvent":
          return event.event._tag === "RunCompleted"
            ? writeErr(`[subagent ${event.childRunId} completed]\n`)
            : Effect.void
        default:
          return Effect.void
      }
    }

    const { settings, transport } = yield* clientSettings(flags)
    const opened: Effect.Effect<
      Stream.Stream<AgentEvent, RunError | SessionError | GatewayClientError>,
      GatewayClientConfigError,
      Scope.Scope
    > = Option.getOrElse(flags.transport, () => transport) === "http"
      ? Effect.map(makeHttpRunClient(settings), (client) => client.startRun(spec))
      : Effect.map(makeGatewayClient(settings), (client) => client.startRun(spec))
    yield* Stream.runForEach(Stream.unwrapScoped(Effect.mapError(opened, configFailure)), onEvent).pipe(
      Effect.onInterrupt(() =>
        Effect.zipRight(endLine, writeErr(`openclaw run: run ${runId ?? "(not started)"} cancelled\n`))
      ),
      Effect.catchAll((error) =>
        Effect.zipRight(
          endLine,
          Effect.fail(error instanceof CliExit ? error : new CliExit({ code: runExitCode(error), message: error.message }))
        )
      )
    )
    yield* endLine
    if (commandExitCode !== 0) {
      return yield* new CliExit({
        code: ExitCode.runFailed,
        message: `${summary ?? `run ${runId}`}; its command exited with code ${commandExitCode}`
      })
    }
    yield* writeErr(`${summary ?? `run ${runId ?? "?"} ended without RunCompleted`}\n`)
  })).pipe(Command.withDescription("Start a run on the gateway and stream its output"))
