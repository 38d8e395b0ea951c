/**
 * The file tools (`read_file`, `write_file`, `list_dir`): every path goes through the workspace's confinement check
 * first and only the checked path is touched; sizes are bounded so a tool call cannot hold unbounded memory.
 */
import type { PlatformError } from "@effect/platform/Error"
import type { FileSystem } from "@effect/platform/FileSystem"
import { Effect, Option } from "effect"
import * as nodePath from "node:path"
import { ToolRefused } from "./AgentTools.js"
import type { Workspace, WorkspaceEscape } from "./Workspace.js"

/** Most bytes `read_file` returns; a longer file is cut and reported as `truncated`. */
export const maxReadBytes = 1024 * 1024
/** Most bytes `write_file` writes; longer content is refused. */
export const maxWriteBytes = 1024 * 1024
/** Most entries `list_dir` returns. */
export const maxListEntries = 1000

export type FileToolError = ToolRefused | WorkspaceEscape | PlatformError

/** The path as the model should see it: relative to the workspace. */
const shown = (workspace: Workspace, real: string): string => nodePath.relative(workspace.root, real) || "."

export const readFile = (fs: FileSystem, workspace: Workspace, path: string) =>
  Effect.gen(function*() {
    const real = yield* workspace.resolve(path)
    const info = yield* fs.stat(real)
    if (info.type !== "File") return yield* new ToolRefused({ reason: `${path} is not a file (${info.type})` })
    const bytes = yield* Effect.scoped(
      Effect.flatMap(fs.open(real, { flag: "r" }), (file) => file.readAlloc(maxReadBytes))
    )
    const content = Option.match(bytes, { onNone: () => "", onSome: (data) => new TextDecoder().decode(data) })
    const size = Number(info.size)
    return { path: shown(workspace, real), size, truncated: size > maxReadBytes, content }
  })

export const writeFile = (fs: FileSystem, workspace: Workspace, path: string, content: string) =>
  Effect.gen(function*() {
    const data = new TextEncoder().encode(content)
    if (data.byteLength > maxWriteBytes) {
      return yield* new ToolRefused({ reason: `content is ${data.byteLength} bytes; write_file writes at most 1 MB` })
    }
    const real = yield* workspace.resolve(path)
    if (real === workspace.root) return yield* new ToolRefused({ reason: "the workspace itself is not a file" })
    // Every missing directory below the checked ancestor is created inside the workspace.
    yield* fs.makeDirectory(nodePath.dirname(real), { recursive: true })
    yield* fs.writeFile(real, data)
    return { path: shown(workspace, real), bytes: data.byteLength }
  })

const typeNames: Readonly<Record<string, string>> = { File: "file", Directory: "directory" }

export const listDir = (fs: FileSystem, workspace: Workspace, path: string) =>
  Effect.gen(function*() {
    const real = yield* workspace.resolve(path)
    const names = [...(yield* fs.readDirectory(real))].sort()
    const entries = yield* Effect.forEach(names.slice(0, maxListEntries), (name) => {
      const entry = nodePath.join(real, name)
      // A link is reported as one, without following it (its target may be outside).
      return fs.readLink(entry).pipe(
        Effect.as("symlink"),
        Effect.orElse(() => Effect.map(fs.stat(entry), (info) => typeNames[info.type] ?? "other")),
        Effect.orElseSucceed(() => "unknown"),
        Effect.map((type) => ({ name, type }))
      )
    })
    return { path: shown(workspace, real), entries, truncated: names.length > maxListEntries }
  })
