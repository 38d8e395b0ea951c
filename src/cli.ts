#!/usr/bin/env node
/**
 * The `openclaw` command line: `gateway` runs the gateway in the foreground, `run` streams a run,
 * `status` summarises a running gateway (`--all`: its health too), `doctor` checks the setup on this machine,
 * `config validate|schema` checks and documents openclaw.json.
 * Exit codes: 0 ok, 1 run failed (or unhealthy, or doctor found errors), 2 usage or configuration error,
 * 3 gateway unreachable, 4 token refused (or lacking a scope), 124 run timed out, 130 interrupted (Ctrl-C cancels
 * the run).
 */
import { Command, ValidationError } from "@effect/cli"
import * as NodeContext from "@effect/platform-node/NodeContext"
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import { Cause, Effect, Exit } from "effect"
import { ExitCode, interruption, writeErr } from "./Cli/CliCommon.js"
import { config } from "./Cli/ConfigCommand.js"
import { doctor } from "./Cli/DoctorCommand.js"
import { gateway } from "./Cli/GatewayCommand.js"
import { logs } from "./Cli/LogsCommand.js"
import { run } from "./Cli/RunCommand.js"
import { status } from "./Cli/StatusCommand.js"
import { version } from "./Version.js"

// `openclaw run ... | head` closes stdout early: stop quietly, as other command-line tools do.
process.stdout.on("error", (error: NodeJS.ErrnoException) => {
  if (error.code !== "EPIPE") throw error
  process.exit(ExitCode.ok)
})

const openclaw = Command.make("openclaw").pipe(
  Command.withSubcommands([gateway.pipe(Command.withSubcommands([logs])), run, status, doctor, config]),
  Command.withDescription("Run and talk to the openclaw gateway")
)

const main = Command.run(openclaw, { name: "openclaw", version })

const program = Effect.suspend(() => main(process.argv)).pipe(
  Effect.as(ExitCode.ok),
  Effect.catchAll((error) =>
    ValidationError.isValidationError(error)
      ? Effect.succeed(ExitCode.usage) // @effect/cli has printed it
      : Effect.as(error.message === "" ? Effect.void : writeErr(`${error.message}\n`), error.code)
  ),
  Effect.provide(NodeContext.layer)
)

NodeRuntime.runMain(program, {
  disableErrorReporting: true,
  // The gateway installs its own logger (JSON lines or pretty, per logging.format).
  disablePrettyLogger: true,
  teardown: (exit, onExit) => {
    // The program's value is its exit code (teardown is generic over it, hence the check).
    if (Exit.isSuccess(exit)) return onExit(typeof exit.value === "number" ? exit.value : 0)
    if (Cause.isInterruptedOnly(exit.cause)) return onExit(interruption.exitCode)
    process.stderr.write(`openclaw: unexpected error\n${Cause.pretty(exit.cause)}\n`)
    onExit(1)
  }
})
