/**
 * The gateway token file: where a loopback gateway without a configured token writes the token
 * it generated, and where the CLI and client find it. Client-safe (no server code).
 */
import { Data, Effect } from "effect"
import * as fs from "node:fs/promises"
import * as os from "node:os"
import * as path from "node:path"

export class TokenFileError extends Data.TaggedError("TokenFileError")<{
  readonly path: string
  readonly cause: unknown
}> {
  override get message() {
    const reason = this.cause instanceof Error ? this.cause.message : String(this.cause)
    return `cannot use token file ${this.path}: ${reason}`
  }
}

/** `~/.openclaw/gateway.token` (honours $HOME). */
export const defaultTokenFile = (): string => path.join(os.homedir(), ".openclaw", "gateway.token")

/** Reads a token file; none when the file does not exist. */
export const readTokenFile = (file: string): Effect.Effect<string | undefined, TokenFileError> =>
  Effect.tryPromise({
    try: () => fs.readFile(file, "utf8"),
    catch: (cause) => new TokenFileError({ path: file, cause })
  }).pipe(
    Effect.map((text) => text.trim() || undefined),
    Effect.catchIf(
      (error) => error.cause instanceof Error && "code" in error.cause && error.cause.code === "ENOENT",
      () => Effect.succeed(undefined)
    )
  )

/** Writes the token readable by the owner only (directory 0700, file 0600), replacing it atomically. */
export const writeTokenFile = (file: string, token: string): Effect.Effect<void, TokenFileError> =>
  Effect.tryPromise({
    try: async () => {
      await fs.mkdir(path.dirname(file), { recursive: true, mode: 0o700 })
      const temporary = `${file}.${process.pid}.tmp`
      await fs.writeFile(temporary, token + "\n", { mode: 0o600 })
      await fs.chmod(temporary, 0o600)
      await fs.rename(temporary, file)
    },
    catch: (cause) => new TokenFileError({ path: file, cause })
  })
