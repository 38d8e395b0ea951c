/** Runs `/bin/sh -c <command>` in a directory and streams its output as `CommandOutput`, then `CommandExited`. */
import { Command, CommandExecutor } from "@effect/platform"
import type { PlatformError } from "@effect/platform/Error"
import { Duration, Effect, Stream } from "effect"
import type { RunId } from "../Domain/Ids.js"
import { AgentFailed } from "../Domain/RunError.js"
import type { AgentOutput } from "./AgentOutput.js"

/** How long a command may take to exit after SIGTERM before its process group gets SIGKILL. */
const killGrace = Duration.seconds(2)

const failed = (runId: RunId, what: string) => (error: PlatformError): AgentFailed =>
  new AgentFailed({ runId, reason: `${what}: ${error.message}` })

/**
 * The command runs in its own process group (the platform spawns it detached); when the stream is interrupted or
 * ends early the whole group is killed: SIGTERM, then SIGKILL after `killGrace`. A non-zero exit is not a failure.
 */
export const stream = (
  runId: RunId,
  command: string,
  cwd: string
): Stream.Stream<AgentOutput, AgentFailed, CommandExecutor.CommandExecutor> =>
  Stream.unwrapScoped(Effect.gen(function*() {
    const process = yield* Command.make("/bin/sh", "-c", command).pipe(
      Command.workingDirectory(cwd),
      // An empty, closed stdin: a command reading it sees end of file instead of waiting forever.
      Command.feed(""),
      Command.start,
      Effect.mapError(failed(runId, "the command could not start"))
    )
    // Registered after `start`, so it runs before the platform's own release (SIGTERM, then wait without limit).
    yield* Effect.addFinalizer(() =>
      Effect.flatMap(process.isRunning, (running) =>
        running
          ? process.kill("SIGTERM").pipe(
            Effect.timeoutFail({ duration: killGrace, onTimeout: () => "still running" }),
            Effect.catchAll(() => process.kill("SIGKILL"))
          )
          : Effect.void).pipe(Effect.ignore)
    )
    const output = (name: "stdout" | "stderr", bytes: Stream.Stream<Uint8Array, PlatformError>) =>
      bytes.pipe(
        Stream.decodeText(),
        Stream.map((text): AgentOutput => ({ _tag: "CommandOutput", stream: name, text })),
        Stream.mapError(failed(runId, `reading the command's ${name} failed`))
      )
    const exited = process.exitCode.pipe(
      Effect.map((exitCode): AgentOutput => ({ _tag: "CommandExited", exitCode })),
      Effect.mapError(failed(runId, "the command did not exit normally"))
    )
    return Stream.merge(output("stdout", process.stdout), output("stderr", process.stderr)).pipe(
      Stream.concat(Stream.fromEffect(exited))
    )
  }))
