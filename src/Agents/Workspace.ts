/**
 * A run's workspace: a fresh directory under `agents.workspaceRoot`, removed when the run ends however it ends, and
 * the confinement check every file tool goes through before touching a path the model chose.
 */
import type { PlatformError } from "@effect/platform/Error"
import { FileSystem } from "@effect/platform/FileSystem"
import { Data, Effect, type Scope } from "effect"
import * as nodePath from "node:path"

/** A path the model gave that leads outside the workspace; the tool refuses it and performs nothing. */
export class WorkspaceEscape extends Data.TaggedError("WorkspaceEscape")<{
  readonly path: string
  readonly reason: string
}> {
  override get message() {
    return `${JSON.stringify(this.path)} is outside the workspace: ${this.reason}`
  }
}

export interface Workspace {
  /** The workspace's real path (symlinks in `agents.workspaceRoot` resolved). */
  readonly root: string
  /**
   * The real path of `path` (relative to the workspace, or absolute) if it stays inside the workspace: `..` that
   * climbs out, absolute paths elsewhere and symlinks (even dangling ones) whose target is outside are refused. A
   * path that does not exist yet is accepted when its nearest existing ancestor is inside; the caller must use the
   * returned path, not the one the model wrote.
   */
  readonly resolve: (path: string) => Effect.Effect<string, WorkspaceEscape | PlatformError>
}

/** `candidate` is `root` or below it; both are absolute and normalised. */
export const isInside = (root: string, candidate: string): boolean => {
  const relative = nodePath.relative(root, candidate)
  return relative === "" || (!relative.startsWith("..") && !nodePath.isAbsolute(relative))
}

const isNotFound = (error: PlatformError): boolean => error._tag === "SystemError" && error.reason === "NotFound"

/** The confinement check of `make`, on an existing directory (exposed for tests). */
export const confineTo = (fs: FileSystem, root: string): Workspace["resolve"] => (path) =>
  Effect.gen(function*() {
    if (path.includes("\0")) return yield* new WorkspaceEscape({ path, reason: "it contains a NUL byte" })
    const lexical = nodePath.resolve(root, path)
    if (!isInside(root, lexical)) return yield* new WorkspaceEscape({ path, reason: `it resolves to ${lexical}` })
    // Walk up from the path to the first entry that exists (a dangling symlink counts as existing) and check where
    // it really leads; the components below it do not exist, so creating them stays where the ancestor is.
    let current = lexical
    while (true) {
      const real = yield* fs.realPath(current).pipe(
        Effect.catchIf(isNotFound, () => Effect.succeed(undefined))
      )
      if (real !== undefined) {
        if (!isInside(root, real)) {
          return yield* new WorkspaceEscape({ path, reason: `${current} is a link to ${real}` })
        }
        return real === current ? lexical : nodePath.join(real, nodePath.relative(current, lexical))
      }
      const isLink = yield* fs.readLink(current).pipe(Effect.as(true), Effect.orElseSucceed(() => false))
      if (isLink) return yield* new WorkspaceEscape({ path, reason: `${current} is a link to a missing target` })
      // `root` exists, so the walk ends at the latest there.
      current = nodePath.dirname(current)
    }
  })

/**
 * Creates the run's directory under `directory` (created if missing) and removes it with everything in it when the
 * scope closes. A removal that fails is logged, not raised: the run's own result stands.
 */
export const make = (directory: string): Effect.Effect<Workspace, PlatformError, FileSystem | Scope.Scope> =>
  Effect.gen(function*() {
    const fs = yield* FileSystem
    yield* fs.makeDirectory(directory, { recursive: true })
    const created = yield* Effect.acquireRelease(
      fs.makeTempDirectory({ directory, prefix: "openclaw-run-" }),
      (path) =>
        fs.remove(path, { recursive: true, force: true }).pipe(
          Effect.catchAll((error) => Effect.logWarning(`cannot remove the workspace ${path}: ${error.message}`))
        )
    )
    const root = yield* fs.realPath(created)
    return { root, resolve: confineTo(fs, root) }
  })
