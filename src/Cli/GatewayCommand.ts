/** `openclaw gateway`: the gateway in the foreground (its modules load only for this command). */
import { Command, Options } from "@effect/cli"
import { Effect, Exit, FiberRef, Option } from "effect"
import { logLevelName } from "../Telemetry/LogLevels.js"
import { CliExit, ExitCode, interruption } from "./CliCommon.js"

export const gateway = Command.make("gateway", {
  port: Options.integer("port").pipe(Options.withDescription("TCP port (0 picks a free one)"), Options.optional),
  bind: Options.text("bind").pipe(Options.withDescription("Address to listen on"), Options.optional),
  config: Options.file("config").pipe(Options.withDescription("Path of openclaw.json"), Options.optional)
}, (options) =>
  Effect.gen(function*() {
    interruption.exitCode = ExitCode.ok
    // `--log-level` is @effect/cli's built-in option: it sets the minimum level around this handler. A level other
    // than the default (info) overrides `logging.level`.
    const level = yield* FiberRef.get(FiberRef.currentMinimumLogLevel)
    const logLevel = level._tag === "Info" ? Option.none() : Option.some(logLevelName(level))
    // The gateway's modules load only for this command: the client commands start faster without them.
    const { exitCodeOf, runGateway } = yield* Effect.promise(() => import("../Gateway/GatewayMain.js"))
    // runGateway prints its own start-up errors; only the exit code is left to choose.
    yield* runGateway({ ...options, logLevel }).pipe(
      Effect.catchAllCause((cause) =>
        Effect.fail(new CliExit({ code: exitCodeOf(Exit.failCause(cause)), message: "" }))
      )
    )
  })).pipe(Command.withDescription("Run the gateway in the foreground until SIGINT/SIGTERM"))
