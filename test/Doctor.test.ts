/**
 * The doctor's checks in-process, for the findings the CLI tests (test/Operations.test.ts) do not reach: a token
 * path that cannot be inspected or is not a file, a bind address that does not resolve, a privileged port, the core
 * count and memory given explicitly (both fixes of the memory finding), and the rendering for people.
 */
import { NodeContext } from "@effect/platform-node"
import { Effect, Option } from "effect"
import * as fs from "node:fs"
import * as path from "node:path"
import { afterAll, describe, expect, it } from "vitest"
import { diagnose, type DoctorOptions, renderFindings } from "../src/Doctor/Doctor.js"
import { makeTempDir, removeDir, unusedPort, writeJsonFile } from "./support/TestGateway.js"

const dir = makeTempDir("openclaw-doctor-")
afterAll(() => removeDir(dir))

let files = 0
const run = (config: Parameters<typeof writeJsonFile>[2], options: Omit<DoctorOptions, "config"> = {}) => {
  const file = writeJsonFile(dir, `config-${files++}.json`, config)
  return Effect.runPromise(diagnose({ ...options, config: Option.some(file) }).pipe(Effect.provide(NodeContext.layer)))
}

const findingOf = async (check: string, ...args: Parameters<typeof run>) =>
  (await run(...args)).find((finding) => finding.check === check)

describe("diagnose", () => {
  it("a token path that cannot be inspected, or is a directory: errors", async () => {
    const port = await unusedPort()
    const notADirectory = path.join(dir, "plain")
    fs.writeFileSync(notADirectory, "x")
    const inspect = await findingOf("auth", { gateway: { port, auth: { tokenFile: path.join(notADirectory, "t") } } })
    expect(inspect).toMatchObject({ severity: "error", message: expect.stringContaining("cannot inspect") })
    const directory = await findingOf("auth", { gateway: { port, auth: { tokenFile: dir } } })
    expect(directory).toMatchObject({ severity: "error", message: `the token file ${dir} is not a regular file` })
  })

  it("a bind address that does not resolve: an error with its code", async () => {
    const port = await findingOf("port", { gateway: { bind: "no-such-host.invalid", auth: { token: "t-0123456789" } } })
    expect(port).toMatchObject({ severity: "error", message: expect.stringMatching(/^cannot listen on no-such-host/) })
  })

  it.skipIf(process.getuid?.() === 0)("a privileged port as an ordinary user: an error", async () => {
    const port = await findingOf("port", { gateway: { port: 1, auth: { token: "t-0123456789" } } })
    expect(port).toMatchObject({ severity: "error", fix: expect.stringContaining("above 1023") })
  })

  it("threads against the given cores; heaps against the given memory, with the fix that fits", async () => {
    const config = { gateway: { port: 0 }, agents: { threadPool: { maxThreads: 2, limits: { heapMb: 512 } } } }
    const mb = 1024 * 1024
    expect(await findingOf("threads", config, { cores: 2 })).toMatchObject({ severity: "ok" })
    expect(await findingOf("threads", config, { cores: 1 })).toMatchObject({
      severity: "warning",
      fix: expect.stringContaining("maxThreads to 1 or fewer")
    })
    expect(await findingOf("memory", config, { totalMemoryBytes: 1024 * mb })).toMatchObject({ severity: "ok" })
    expect(await findingOf("memory", config, { totalMemoryBytes: 1000 * mb })).toMatchObject({
      severity: "warning",
      fix: "Lower agents.threadPool.limits.heapMb to 375 or less (or lower maxThreads)."
    })
    expect(await findingOf("memory", config, { totalMemoryBytes: 100 * mb })).toMatchObject({
      severity: "warning",
      fix: "Lower agents.threadPool.maxThreads to 1 or less (or lower limits.heapMb)."
    })
  })

  it("renders one line per finding, multi-line messages and fixes indented, then the counts", () => {
    const text = renderFindings([
      { check: "config", severity: "error", message: "bad file:\n  a.b: wrong", fix: "Fix it." },
      { check: "port", severity: "ok", message: "free" }
    ])
    expect(text).toBe(
      "ERROR    config     bad file:\n" +
        "                      a.b: wrong\n" +
        "                    fix: Fix it.\n" +
        "ok       port       free\n" +
        "1 error, 0 warnings\n"
    )
  })
})
