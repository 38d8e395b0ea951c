/** Runs `/bin/sh -c <command>` in a directory and streams its output as `CommandOutput`, then `CommandExited`. */
import * as Command from "@effect/platform/Command"
import * as CommandExecutor from "@effect/platform/CommandExecutor"
import type { PlatformError } from "@effect/platform/Error"
import { Duration, Effect, Stream } from "effect"
import * as os from "node:os"
import type { RunId } from "../Domain/Ids.js"
import { AgentFailed } from "../Domain/RunError.js"
import type { AgentOutput } from "./AgentOutput.js"

/** How long the shell may take to exit after SIGTERM before its process group gets SIGKILL. */
const killGrace = Duration.seconds(2)

export interface ShellOptions {
  /** The working directory (the run's workspace). */
  readonly cwd: string
  /** The whole environment of the command: nothing of the gateway's is inherited beyond it. */
  readonly env: Readonly<Record<string, string>>
}

const failed = (runId: RunId, what: string) => (error: PlatformError): AgentFailed =>
  new AgentFailed({ runId, reason: `${what}: ${error.message}` })

/** Sends `signal` to the process group led by `pid`; false when the group no longer exists. */
const signalGroup = (pid: number, signal: NodeJS.Signals): boolean => {
  try {
    process.kill(-pid, signal)
    return true
  } catch {
    return false
  }
}

/** The platform reports a death by signal as an error naming it; shells report it as 128 + the signal's number. */
const exitCodeOfSignal = (error: PlatformError): number | undefined => {
  const name = /signal: (SIG[A-Z0-9]+)/.exec(error.message)?.[1]
  const signals: Readonly<Record<string, number>> = os.constants.signals
  const number = name === undefined ? undefined : signals[name]
  return number === undefined ? undefined : 128 + number
}

/**
 * The command runs in its own process group (the platform spawns it detached). When the stream ends for any reason
 * (the shell exited, the run was interrupted or timed out) whatever is left of the group is stopped: SIGTERM, up to
 * `killGrace` for the shell to exit, then SIGKILL to the group, so background children (`sleep 30 &`) never outlive
 * the run. A non-zero exit is not a failure; a death by signal N exits with 128 + N.
 */
export const stream = (
  runId: RunId,
  command: string,
  options: ShellOptions
): Stream.Stream<AgentOutput, AgentFailed, CommandExecutor.CommandExecutor> =>
  Stream.unwrapScoped(Effect.gen(function*() {
    const child = yield* Command.make("/bin/sh", "-c", command).pipe(
      Command.workingDirectory(options.cwd),
      Command.env(options.env, { extendEnv: false }),
      // An empty, closed stdin: a command reading it sees end of file instead of waiting forever.
      Command.feed(""),
      Command.start,
      Effect.mapError(failed(runId, "the command could not start"))
    )
    // Registered after `start`, so it runs before the platform's own release (SIGTERM, then wait without limit).
    yield* Effect.addFinalizer(() =>
      Effect.suspend(() => {
        if (!signalGroup(child.pid, "SIGTERM")) return Effect.void
        return child.exitCode.pipe(
          Effect.ignore,
          Effect.timeout(killGrace),
          Effect.ignore,
          Effect.andThen(() => signalGroup(child.pid, "SIGKILL"))
        )
      })
    )
    const output = (name: "stdout" | "stderr", bytes: Stream.Stream<Uint8Array, PlatformError>) =>
      bytes.pipe(
        Stream.decodeText(),
        Stream.map((text): AgentOutput => ({ _tag: "CommandOutput", stream: name, text })),
        Stream.mapError(failed(runId, `reading the command's ${name} failed`))
      )
    const exited = child.exitCode.pipe(
      Effect.catchAll((error) => {
        const code = exitCodeOfSignal(error)
        return code === undefined
          ? Effect.fail(failed(runId, "the command did not exit normally")(error))
          : Effect.succeed(code)
      }),
      Effect.map((exitCode): AgentOutput => ({ _tag: "CommandExited", exitCode }))
    )
    return Stream.merge(output("stdout", child.stdout), output("stderr", child.stderr)).pipe(
      Stream.concat(Stream.fromEffect(exited))
    )
  }))
