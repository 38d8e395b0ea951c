/**
 * The Tools service on real temp dirs and real child processes: file tools confined to the workspace, the shell
 * tool's streaming, exit codes, bounded results and secret-free environment, process groups killed when a call is
 * interrupted, the workspace removed at the end.
 */
import { NodeContext } from "@effect/platform-node"
import { describe, expect, it } from "@effect/vitest"
import { Chunk, Deferred, Effect, Fiber, Layer, Stream } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import type { AgentContext } from "../src/Agents/Agent.js"
import type { AgentOutput } from "../src/Agents/AgentOutput.js"
import * as CommandEnvironment from "../src/Agents/CommandEnvironment.js"
import { Subagents } from "../src/Agents/Subagents.js"
import * as Tools from "../src/Agents/Tools.js"
import { GatewayConfig } from "../src/Config/GatewayConfig.js"
import { RunId } from "../src/Domain/Ids.js"
import { AgentFailed } from "../src/Domain/RunError.js"
import { StartRun } from "../src/Domain/RunSpec.js"
import * as MockLanguageModel from "../src/Llm/MockLanguageModel.js"
import { isAlive, waitUntil } from "./support/ProcessLiveness.js"

/** A fresh directory for one test, standing for `agents.workspaceRoot`. */
const tempRoot = Effect.acquireRelease(
  Effect.sync(() => fs.mkdtempSync(path.join(os.tmpdir(), "openclaw-tools-test-"))),
  (root) => Effect.sync(() => fs.rmSync(root, { recursive: true, force: true }))
)

const context = Effect.map(
  MockLanguageModel.make(GatewayConfig.fromInput({}).config.models.providers.mock),
  (languageModel): AgentContext => ({
    runId: RunId.make(crypto.randomUUID()),
    spec: new StartRun({ prompt: "test", mode: "inline" }),
    model: { id: "mock/mock-1", provider: "mock", model: "mock-1", languageModel },
    depth: 0,
    maxSteps: 8
  })
)

/** No test here spawns a subagent (see CodexAgent.test.ts). */
const noSubagents = Layer.succeed(Subagents, {
  spawn: (request) => Stream.fail(new AgentFailed({ runId: request.parentRunId, reason: "not in this test" }))
})

interface Harness {
  readonly root: string
  readonly workspace: string
  readonly call: (name: string, params: unknown) => Effect.Effect<ReadonlyArray<AgentOutput>>
  readonly callStream: (name: string, params: unknown) => Stream.Stream<AgentOutput>
}

/** Opens the tools of one run under a fresh root; the run ends (and its workspace goes) with the test's scope. */
const harness = (options: Partial<Tools.ToolsOptions> = {}) =>
  Effect.gen(function*() {
    const root = yield* tempRoot
    const service = yield* Tools.make({ workspaceRoot: root, maxSubagentDepth: 2, secretEnvNames: [], ...options })
    const run = service.open(yield* context, yield* Effect.scope)
    const workspace = yield* run.workspace
    let next = 0
    const callStream = (name: string, params: unknown) =>
      run.call({ id: `call-${next++}`, name, params }).pipe(Stream.provideLayer(noSubagents))
    const call = (name: string, params: unknown) =>
      Effect.map(Stream.runCollect(callStream(name, params)), Chunk.toReadonlyArray)
    const harness: Harness = { root, workspace, call, callStream }
    return harness
  }).pipe(Effect.provide(NodeContext.layer))

const resultOf = (outputs: ReadonlyArray<AgentOutput>) => {
  const last = outputs.at(-1)
  if (last?._tag !== "ToolResult") throw new Error(`no ToolResult at the end: ${JSON.stringify(outputs)}`)
  return last
}

describe("Tools", () => {
  describe("files", () => {
    it.live("write_file then read_file round-trips inside the workspace; list_dir sees it", () =>
      Effect.gen(function*() {
        const { call, workspace } = yield* harness()
        const written = yield* call("write_file", { path: "notes/a.txt", content: "hello\nworld" })
        expect(written.map((output) => output._tag)).toEqual(["ToolCalled", "ToolResult"])
        expect(written[0]?._tag === "ToolCalled" && [written[0].name, written[0].params]).toEqual([
          "write_file",
          { path: "notes/a.txt", content: "hello\nworld" }
        ])
        expect(resultOf(written)).toMatchObject({ isError: false, result: { path: "notes/a.txt", bytes: 11 } })
        expect(fs.readFileSync(path.join(workspace, "notes/a.txt"), "utf8")).toBe("hello\nworld")

        const read = resultOf(yield* call("read_file", { path: "notes/a.txt" }))
        expect(read).toMatchObject({
          isError: false,
          result: { path: "notes/a.txt", content: "hello\nworld", size: 11, truncated: false }
        })
        // An absolute path inside the workspace is inside.
        const absolute = resultOf(yield* call("read_file", { path: path.join(workspace, "notes/a.txt") }))
        expect(absolute.isError).toBe(false)

        const listed = resultOf(yield* call("list_dir", {}))
        expect(listed).toMatchObject({
          isError: false,
          result: { path: ".", entries: [{ name: "notes", type: "directory" }] }
        })
        const inner = resultOf(yield* call("list_dir", { path: "notes" }))
        expect(inner.result).toMatchObject({ entries: [{ name: "a.txt", type: "file" }] })
      }).pipe(Effect.scoped))

    it.live("refuses ../escape, /etc/passwd and links leading outside with an error result, writing nothing", () =>
      Effect.gen(function*() {
        const { call, workspace, root } = yield* harness()
        const outside = path.join(root, "outside")
        fs.mkdirSync(outside)
        fs.writeFileSync(path.join(outside, "secret.txt"), "do not read")
        fs.symlinkSync(path.join(outside, "secret.txt"), path.join(workspace, "link.txt"))
        fs.symlinkSync(outside, path.join(workspace, "linkdir"))
        fs.symlinkSync(path.join(outside, "missing.txt"), path.join(workspace, "dangling.txt"))

        const refused = [
          ["write_file", { path: "../escape", content: "x" }],
          ["write_file", { path: "../outside/escape", content: "x" }],
          ["write_file", { path: "a/../../escape", content: "x" }],
          ["write_file", { path: path.join(outside, "escape"), content: "x" }],
          ["write_file", { path: "link.txt", content: "overwritten" }],
          ["write_file", { path: "linkdir/escape", content: "x" }],
          ["write_file", { path: "linkdir/new/escape", content: "x" }],
          ["write_file", { path: "dangling.txt", content: "x" }],
          ["read_file", { path: "/etc/passwd" }],
          ["read_file", { path: "../outside/secret.txt" }],
          ["read_file", { path: "link.txt" }],
          ["read_file", { path: "linkdir/secret.txt" }],
          ["list_dir", { path: ".." }],
          ["list_dir", { path: "/" }],
          ["list_dir", { path: "linkdir" }]
        ] as const
        for (const [name, params] of refused) {
          const result = resultOf(yield* call(name, params))
          expect({ name, params, isError: result.isError }).toEqual({ name, params, isError: true })
          expect(String(result.result)).toContain("outside the workspace")
        }
        expect(fs.readdirSync(root).sort()).toEqual([path.basename(workspace), "outside"].sort())
        expect(fs.readdirSync(outside).sort()).toEqual(["secret.txt"])
        expect(fs.readFileSync(path.join(outside, "secret.txt"), "utf8")).toBe("do not read")

        // A link whose target is inside is followed.
        fs.writeFileSync(path.join(workspace, "real.txt"), "inside")
        fs.symlinkSync(path.join(workspace, "real.txt"), path.join(workspace, "inner-link.txt"))
        const viaLink = resultOf(yield* call("read_file", { path: "inner-link.txt" }))
        expect(viaLink).toMatchObject({ isError: false, result: { content: "inside" } })
      }).pipe(Effect.scoped))

    it.live("bounds sizes and reports bad parameters, missing files and unknown tools as error results", () =>
      Effect.gen(function*() {
        const { call, workspace } = yield* harness()
        fs.writeFileSync(path.join(workspace, "big.bin"), Buffer.alloc(1024 * 1024 + 10, 97))
        const big = resultOf(yield* call("read_file", { path: "big.bin" }))
        expect(big.isError).toBe(false)
        expect(big.result).toMatchObject({ size: 1024 * 1024 + 10, truncated: true })
        const content = typeof big.result === "object" && big.result !== null && "content" in big.result
          ? big.result.content
          : undefined
        expect(typeof content === "string" && content.length).toBe(1024 * 1024)

        const tooLarge = resultOf(yield* call("write_file", { path: "x", content: "a".repeat(1024 * 1024 + 1) }))
        expect(tooLarge.isError).toBe(true)
        expect(fs.existsSync(path.join(workspace, "x"))).toBe(false)

        const missing = resultOf(yield* call("read_file", { path: "nope.txt" }))
        expect(missing.isError).toBe(true)
        const directory = resultOf(yield* call("read_file", { path: "." }))
        expect(directory).toMatchObject({ isError: true })

        const badParams = resultOf(yield* call("write_file", { path: "x" }))
        expect(badParams.isError).toBe(true)
        expect(String(badParams.result)).toContain("invalid parameters for write_file")
        const unknown = resultOf(yield* call("rm_rf", { path: "." }))
        expect(unknown).toMatchObject({ isError: true, result: "unknown tool \"rm_rf\"" })
      }).pipe(Effect.scoped))
  })

  describe("shell", () => {
    it.live("streams output while the command runs, then CommandExited with the real exit code", () =>
      Effect.gen(function*() {
        const { callStream, workspace } = yield* harness()
        // The command waits for a file the test writes only after it saw the first line: buffered output would hang.
        const command = "pwd; echo one; while [ ! -e go ]; do sleep 0.05; done; echo two >&2; exit 7"
        const seen: Array<AgentOutput> = []
        yield* callStream("shell", { command }).pipe(
          Stream.runForEach((output) =>
            Effect.sync(() => {
              seen.push(output)
              if (output._tag === "CommandOutput" && output.text.includes("one")) {
                fs.writeFileSync(path.join(workspace, "go"), "")
              }
            })
          )
        )
        expect(seen[0]?._tag).toBe("ToolCalled")
        const text = (stream: string) =>
          seen.flatMap((output) => output._tag === "CommandOutput" && output.stream === stream ? [output.text] : [])
            .join("")
        expect(text("stdout")).toBe(`${workspace}\none\n`)
        expect(text("stderr")).toBe("two\n")
        const exited = seen.at(-2)
        expect(exited?._tag === "CommandExited" && exited.exitCode).toBe(7)
        const result = resultOf(seen)
        expect(result).toMatchObject({
          isError: false,
          name: "shell",
          result: { exitCode: 7, truncated: false }
        })
      }).pipe(Effect.scoped))

    it.live("returns only the last 16 KB of a long output to the model; the client gets all of it", () =>
      Effect.gen(function*() {
        const { call } = yield* harness()
        const command = "i=0; while [ $i -lt 3000 ]; do echo line-$i; i=$((i+1)); done"
        const outputs = yield* call("shell", { command })
        const all = outputs.flatMap((output) => output._tag === "CommandOutput" ? [output.text] : []).join("")
        expect(all.split("\n").length).toBe(3001)
        const result = resultOf(outputs).result
        const output = typeof result === "object" && result !== null && "output" in result ? result.output : ""
        expect(typeof output === "string" && output.length).toBe(Tools.maxShellResultChars)
        expect(typeof output === "string" && output.endsWith("line-2999\n")).toBe(true)
        expect(result).toMatchObject({ exitCode: 0, truncated: true })
      }).pipe(Effect.scoped))

    it.live("hands commands an environment without the gateway's secrets; PATH and HOME stay", () =>
      Effect.gen(function*() {
        const saved = { ...process.env }
        yield* Effect.addFinalizer(() =>
          Effect.sync(() => {
            for (const name of Object.keys(process.env)) if (!(name in saved)) delete process.env[name]
            Object.assign(process.env, saved)
          })
        )
        process.env["OPENCLAW_GATEWAY_TOKEN"] = "gateway-token-value"
        process.env["MY_API_KEY"] = "api-key-value"
        process.env["CONFIGURED_SECRET_REF"] = "referenced-value"
        process.env["INNOCENT_LOOKING"] = "jwt-secret-value"
        process.env["OPENCLAW_TOOLS_TEST_VISIBLE"] = "no"
        process.env["TOOLS_TEST_VISIBLE"] = "yes"
        const { call } = yield* harness({
          secretEnvNames: ["CONFIGURED_SECRET_REF"],
          secretValues: ["jwt-secret-value"]
        })
        const outputs = yield* call("shell", { command: "env" })
        const env = outputs.flatMap((output) => output._tag === "CommandOutput" ? [output.text] : []).join("")
        const names = env.split("\n").map((line) => line.slice(0, line.indexOf("=")))
        expect(names).toContain("PATH")
        expect(names).toContain("TOOLS_TEST_VISIBLE")
        if (saved["HOME"] !== undefined) expect(names).toContain("HOME")
        for (const hidden of ["OPENCLAW_GATEWAY_TOKEN", "MY_API_KEY", "CONFIGURED_SECRET_REF", "INNOCENT_LOOKING"]) {
          expect(names).not.toContain(hidden)
        }
        expect(names).not.toContain("OPENCLAW_TOOLS_TEST_VISIBLE")
        for (const value of ["gateway-token-value", "api-key-value", "referenced-value", "jwt-secret-value"]) {
          expect(env).not.toContain(value)
        }
      }).pipe(Effect.scoped))

    it.live("interrupting a call kills the command's whole process group, background children included", () =>
      Effect.gen(function*() {
        const { callStream } = yield* harness()
        const pids = yield* Deferred.make<ReadonlyArray<number>>()
        let output = ""
        const fiber = yield* callStream("shell", {
          command: "sleep 30 & echo $!; sleep 30 & echo $!; echo $$; wait"
        }).pipe(
          Stream.runForEach((event) =>
            Effect.suspend(() => {
              if (event._tag === "CommandOutput") output += event.text
              const lines = output.split("\n").filter((line) => line !== "")
              return lines.length === 3 ? Deferred.succeed(pids, lines.map(Number)) : Effect.void
            })
          ),
          Effect.fork
        )
        const started = yield* Deferred.await(pids)
        expect(started.every((pid) => Number.isInteger(pid) && pid > 0 && isAlive(pid))).toBe(true)
        yield* Fiber.interrupt(fiber)
        expect(yield* waitUntil(() => started.every((pid) => !isAlive(pid)), 3000)).toBe(true)
      }).pipe(Effect.scoped))

    it.live("background children left behind by a command that exited are killed too", () =>
      Effect.gen(function*() {
        const { call, workspace } = yield* harness()
        // The child's output is redirected, so the command's stdout closes when the shell exits.
        const outputs = yield* call("shell", { command: "sleep 30 >/dev/null 2>&1 & echo $!" })
        const pid = Number(outputs.flatMap((output) => output._tag === "CommandOutput" ? [output.text] : []).join(""))
        expect(Number.isInteger(pid) && pid > 0).toBe(true)
        expect(yield* waitUntil(() => !isAlive(pid), 3000)).toBe(true)
        expect(fs.existsSync(workspace)).toBe(true)
      }).pipe(Effect.scoped))
  })

  it.live("creates the workspace under the root on first use and removes it when the run's scope closes", () =>
    Effect.gen(function*() {
      const root = yield* tempRoot
      const workspace = yield* Effect.scoped(Effect.gen(function*() {
        const service = yield* Tools.make({
          workspaceRoot: path.join(root, "nested"),
          maxSubagentDepth: 0,
          secretEnvNames: []
        })
        const run = service.open(yield* context, yield* Effect.scope)
        expect(fs.existsSync(path.join(root, "nested"))).toBe(false)
        // Two first uses at once make one workspace.
        const [workspace, again] = yield* Effect.all([run.workspace, run.workspace], { concurrency: 2 })
        expect(again).toBe(workspace)
        expect(fs.readdirSync(path.join(root, "nested"))).toHaveLength(1)
        expect(path.dirname(workspace)).toBe(fs.realpathSync(path.join(root, "nested")))
        expect(path.basename(workspace).startsWith("openclaw-run-")).toBe(true)
        yield* run.call({ id: "c", name: "shell", params: { command: "mkdir -p a/b && echo x > a/b/c" } }).pipe(
          Stream.provideLayer(noSubagents),
          Stream.runDrain
        )
        expect(fs.existsSync(path.join(workspace, "a/b/c"))).toBe(true)
        return workspace
      }))
      expect(fs.existsSync(workspace)).toBe(false)
      expect(fs.readdirSync(path.join(root, "nested"))).toEqual([])
    }).pipe(Effect.provide(NodeContext.layer), Effect.scoped))

  it("CommandEnvironment keeps ordinary variables and drops secret ones", () => {
    expect(CommandEnvironment.make(
      { PATH: "/bin", LANG: "C", GITHUB_TOKEN: "t", DB_PASSWORD: "p", OPENAI_APIKEY: "k", X: undefined, Y: "s3" },
      { secretEnvNames: [], secretValues: ["s3"] }
    )).toEqual({ PATH: "/bin", LANG: "C" })
  })

  it("finds the config's {\"env\": NAME} references and decoded secret values", () => {
    const input = {
      gateway: { auth: { token: { env: "GW_TOKEN_VAR" } } },
      security: { jwt: { secret: { env: "JWT" } } }
    }
    expect(Tools.secretEnvNamesOf(input)).toEqual(["GW_TOKEN_VAR", "JWT"])
    const { config } = GatewayConfig.fromInput({ gateway: { auth: { token: "literal-token" } } })
    expect(Tools.secretValuesOf(config)).toEqual(["literal-token"])
  })
})
