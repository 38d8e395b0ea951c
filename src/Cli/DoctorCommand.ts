/** `openclaw doctor`: checks of this machine's setup, without a gateway. */
import { Command, Options } from "@effect/cli"
import { Effect } from "effect"
import { diagnose, renderFindings } from "../Doctor/Doctor.js"
import { CliExit, ExitCode, writeOut, clientOptions } from "./CliCommon.js"

export const doctor = Command.make("doctor", {
  config: Options.text("config").pipe(
    Options.withDescription("openclaw.json to check (default: the lookup)"),
    Options.optional
  ),
  json: clientOptions.json
}, (flags) =>
  Effect.gen(function*() {
    const findings = yield* diagnose({ config: flags.config })
    const errors = findings.filter((finding) => finding.severity === "error").length
    yield* writeOut(flags.json ? JSON.stringify({ ok: errors === 0, findings }) + "\n" : renderFindings(findings))
    if (errors > 0) {
      return yield* new CliExit({
        code: ExitCode.runFailed,
        message: `openclaw doctor: ${errors} error${errors === 1 ? "" : "s"} to fix`
      })
    }
  })).pipe(
    Command.withDescription(
      "Check this machine's setup without the gateway: config, token file, port, threads, memory, TLS, provider keys"
    )
  )
