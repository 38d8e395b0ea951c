/**
 * The `openclaw` CLI end to end: the built `dist/cli.js` as child processes against gateway child
 * processes on loopback (HOME points at a temp dir, so the default token file lives there), checking
 * output and exit codes.
 */
import * as fs from "node:fs"
import * as path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { eventually, type GatewayProcess, runCli, spawnCli, startGatewayProcess } from "./support/Processes.js"
import { makeTempDir, removeDir, testConfig, unusedPort, writeJsonFile } from "./support/TestGateway.js"

const dir = makeTempDir("openclaw-cli-")
const home = path.join(dir, "home")
/** Children see only the temp HOME: the default token file is `<home>/.openclaw/gateway.token`. */
const env = { HOME: home }
const gateways: Array<GatewayProcess> = []
let fast: GatewayProcess
let slow: GatewayProcess
let tools: GatewayProcess
let slowToken: string

// Three gateway processes start at once: on a loaded machine that can take a while.
beforeAll(async () => {
  fs.mkdirSync(home)
  // The fast gateway uses the default token file (under HOME); the slow one has its own.
  const fastConfig = writeJsonFile(dir, "openclaw.json", {
    gateway: { port: 0, shutdownGraceMs: 0 },
    models: { providers: { mock: { firstTokenDelayMs: 0, tokenDelayMs: 0 } } }
  })
  const slowDir = path.join(dir, "slow")
  fs.mkdirSync(slowDir)
  const slowConfig = writeJsonFile(slowDir, "openclaw.json", testConfig(slowDir, {
    models: { providers: { mock: { tokenDelayMs: 200 } } }
  }))
  // The tools gateway's model asks for a shell command that fails, then answers.
  const toolsDir = path.join(dir, "tools")
  fs.mkdirSync(toolsDir)
  const toolsConfig = writeJsonFile(toolsDir, "openclaw.json", testConfig(toolsDir, {
    models: { providers: { mock: { toolCalls: [{ name: "shell", params: { command: "echo from-tool; exit 5" } }] } } }
  }))
  ;[fast, slow, tools] = await Promise.all([
    startGatewayProcess(["--config", fastConfig], { env }),
    startGatewayProcess(["--config", slowConfig], { env }),
    startGatewayProcess(["--config", toolsConfig], { env })
  ])
  gateways.push(fast, slow, tools)
  slowToken = fs.readFileSync(path.join(slowDir, "gateway.token"), "utf8").trim()
}, 60_000)

afterAll(async () => {
  await Promise.all(gateways.map((gateway) => gateway.stop("SIGKILL")))
  removeDir(dir)
})

// Every run behaviour holds over both transports: the WebSocket RPC and HTTP with SSE.
describe.each(["websocket", "http"] as const)("openclaw run --transport %s", (transport) => {
  it("a failing --command exits 1, also with --json", async () => {
    const result = await runCli(["run", "--transport", transport, "--url", fast.url, "--command", "echo out; exit 3", "--json"], { env })
    expect(result.code).toBe(1)
    expect(result.stdout).toContain("\"CommandExited\"")
    expect(result.stderr).toMatch(/command exited with code 3/)
  })

  it("a tool call's failing command is the model's business, not the run's exit code", async () => {
    const toolsToken = fs.readFileSync(path.join(dir, "tools", "gateway.token"), "utf8").trim()
    const result = await runCli(
      ["run", "--transport", transport, "--url", tools.url, "--token", toolsToken, "--command", "true", "--prompt", "use a tool"],
      { env }
    )
    expect(result.code, result.stderr).toBe(0)
    expect(result.stderr).toContain("[tool shell {\"command\":\"echo from-tool; exit 5\"}]")
    expect(result.stdout).toContain("from-tool")
  })

  it("streams the reply to stdout and a summary to stderr, exit 0", async () => {
    const result = await runCli(["run", "--transport", transport, "--url", fast.url, "--prompt", "hi", "--mode", "inline"], { env })
    expect(result.code, result.stderr).toBe(0)
    expect(result.stdout).toMatch(/^Mock reply to "hi"/)
    expect(result.stdout.endsWith("\n")).toBe(true)
    expect(result.stderr).toMatch(/^run \S+ completed in \d+\.\d+s, \d+ tokens out\n$/)
  })

  it("--json prints every event as one NDJSON line, seq 0..n", async () => {
    const result = await runCli(["run", "--transport", transport, "--url", fast.url, "-p", "hi", "--json"], { env })
    expect(result.code, result.stderr).toBe(0)
    const events = result.stdout.trimEnd().split("\n").map((line): unknown => JSON.parse(line))
    const seqs = events.map((event) => (typeof event === "object" && event !== null && "seq" in event ? event.seq : -1))
    expect(seqs).toEqual(events.map((_, index) => index))
    const last = events[events.length - 1]
    expect(typeof last === "object" && last !== null && "_tag" in last ? last._tag : undefined).toBe("RunCompleted")
    // The same summary as without --json (it once said the run had ended without RunCompleted).
    expect(result.stderr).toMatch(/^run \S+ completed in \d+\.\d+s, \d+ tokens out\n$/)
  })

  it("an agent that is not allowed: exit 1 with AgentNotAllowed's message", async () => {
    const result = await runCli(["run", "--transport", transport, "--url", fast.url, "--agent", "nope", "-p", "hi"], { env })
    expect(result.code).toBe(1)
    expect(result.stderr).toContain("agent \"nope\" is not allowed")
  })

  it("a run longer than --timeout: exit 124", async () => {
    const args = ["run", "--transport", transport, "--url", slow.url, "--token", slowToken, "-p", "hi", "--timeout", "0.3"]
    const result = await runCli(args, { env })
    expect(result.code, result.stderr).toBe(124)
    expect(result.stderr).toContain("timed out after 300 ms")
  })

  it("Ctrl-C cancels the run on the gateway: exit 130", async () => {
    const run = spawnCli(["run", "--transport", transport, "--url", slow.url, "--token", slowToken, "-p", "hi", "--mode", "inline"], { env })
    try {
      await eventually(() => run.output().stdout.length > 0)
      run.child.kill("SIGINT")
      const result = await run.result
      expect(result.code).toBe(130)
      expect(result.stderr).toMatch(/run \S+ cancelled/)
    } finally {
      run.child.kill("SIGKILL")
    }
    const activeRuns = async () => {
      const status = await runCli(["status", "--url", slow.url, "--token", slowToken, "--json"], { env })
      const parsed: unknown = JSON.parse(status.stdout)
      return typeof parsed === "object" && parsed !== null && "runs" in parsed && Array.isArray(parsed.runs)
        ? parsed.runs.length
        : -1
    }
    await eventually(async () => (await activeRuns()) === 0)
  })

  it("an unreachable gateway: exit 3, saying how to start one", async () => {
    const port = await unusedPort()
    const result = await runCli(["run", "--transport", transport, "--url", `ws://127.0.0.1:${port}`, "-p", "hi"], { env })
    expect(result.code).toBe(3)
    expect(result.stderr).toContain("openclaw gateway")
    expect(result.stderr).toContain("npm start")
  })

  it("a refused token: exit 4", async () => {
    const result = await runCli(["run", "--transport", transport, "--url", fast.url, "--token", "wrong", "-p", "hi"], { env })
    expect(result.code).toBe(4)
    expect(result.stderr).toContain("refused the token")
  })

  it("usage errors: exit 2", async () => {
    expect((await runCli(["run", "--transport", transport, "--url", fast.url], { env })).code).toBe(2)
    expect((await runCli(["run", "--transport", transport, "--bogus"], { env })).code).toBe(2)
    expect((await runCli(["run", "--transport", transport, "-p", "hi", "--timeout", "-1"], { env })).code).toBe(2)
    // The WebSocket client takes only ws(s):// URLs; the HTTP client takes both (nothing listens on port 1).
    expect((await runCli(["run", "--transport", transport, "-p", "hi", "--url", "http://127.0.0.1:1"], { env })).code)
      .toBe(transport === "websocket" ? 2 : 3)
    expect((await runCli(["run", "--transport", "carrier-pigeon", "-p", "hi"], { env })).code).toBe(2)
  })
})

describe("openclaw run with acp.codex.transport = \"http\"", () => {
  it("takes HTTP as its default transport (an http:// URL, which the WebSocket client refuses, works)", async () => {
    const config = writeJsonFile(dir, "http-client.json", { acp: { codex: { transport: "http" } } })
    const url = fast.url.replace(/^ws:/, "http:")
    const result = await runCli(["run", "--config", config, "--url", url, "--prompt", "hi"], { env })
    expect(result.code, result.stderr).toBe(0)
    expect(result.stdout).toMatch(/^Mock reply to "hi"/)
    const forced = await runCli(["run", "--config", config, "--transport", "websocket", "--url", url, "-p", "hi"], { env })
    expect(forced.code).toBe(2)
  })
})

describe("openclaw status", () => {
  it("--json prints the gateway's status, exit 0", async () => {
    const result = await runCli(["status", "--url", fast.url, "--json"], { env })
    expect(result.code, result.stderr).toBe(0)
    const status: unknown = JSON.parse(result.stdout)
    expect(status).toMatchObject({ listen: `127.0.0.1:${fast.port}`, version: expect.any(String) })
  })

  it("prints a human summary", async () => {
    const result = await runCli(["status", "--url", fast.url], { env })
    expect(result.code, result.stderr).toBe(0)
    expect(result.stdout).toContain(`listening on 127.0.0.1:${fast.port}`)
    expect(result.stdout).toContain("active runs: ")
  })

  it("--threads prints the pool: each thread, the queue and terminations", async () => {
    await runCli(["run", "--url", fast.url, "--prompt", "warm"], { env })
    const result = await runCli(["status", "--url", fast.url, "--threads"], { env })
    expect(result.code, result.stderr).toBe(0)
    expect(result.stdout).toMatch(/^threads: \d+ \(min 1, max \d+\)$/m)
    expect(result.stdout).toMatch(/^ {2}#\d+ +idle +- +age /m)
    expect(result.stdout).toMatch(/^queue: 0\/100$/m)
    expect(result.stdout).toContain("terminated: none")
  })

  it("unreachable: exit 3; refused token: exit 4", async () => {
    const port = await unusedPort()
    expect((await runCli(["status", "--url", `ws://127.0.0.1:${port}`], { env })).code).toBe(3)
    expect((await runCli(["status", "--url", fast.url, "--token", "wrong"], { env })).code).toBe(4)
  })
})

describe("openclaw gateway logs", () => {
  it("prints the gateway's recent entries; --json as NDJSON LogEntry lines", async () => {
    const result = await runCli(["gateway", "logs", "--url", fast.url], { env })
    expect(result.code, result.stderr).toBe(0)
    expect(result.stdout).toMatch(/^\d\d:\d\d:\d\d\.\d{3} INFO +openclaw gateway \S+ listening on/m)
    const json = await runCli(["gateway", "logs", "--url", fast.url, "--json", "--limit", "1"], { env })
    expect(json.code, json.stderr).toBe(0)
    const lines = json.stdout.trimEnd().split("\n")
    expect(lines).toHaveLength(1)
    expect(JSON.parse(lines[0] ?? "")).toMatchObject({ level: expect.any(String), seq: expect.any(Number) })
  })

  it("--since accepts durations and dates, refuses anything else (exit 2); unreachable: exit 3", async () => {
    expect((await runCli(["gateway", "logs", "--url", fast.url, "--since", "5m"], { env })).code).toBe(0)
    expect((await runCli(["gateway", "logs", "--url", fast.url, "--since", "yesterday-ish"], { env })).code).toBe(2)
    const port = await unusedPort()
    expect((await runCli(["gateway", "logs", "--url", `ws://127.0.0.1:${port}`], { env })).code).toBe(3)
  })
})

describe("openclaw config", () => {
  it("validate: a good file prints the decoded config with secrets redacted, exit 0", async () => {
    const file = writeJsonFile(dir, "good.json", { gateway: { port: 1234, auth: { token: "s3cret" } } })
    const result = await runCli(["config", "validate", file], { env })
    expect(result.code, result.stderr).toBe(0)
    expect(result.stdout).not.toContain("s3cret")
    expect(JSON.parse(result.stdout)).toMatchObject({ gateway: { port: 1234, auth: { token: "<redacted>" } } })
  })

  it("validate: a bad file names the file and the problem, exit 2", async () => {
    const file = writeJsonFile(dir, "bad.json", { gateway: { port: "nope" } })
    const result = await runCli(["config", "validate", file], { env })
    expect(result.code).toBe(2)
    expect(result.stderr).toContain(file)
    expect(result.stderr).toContain("gateway.port")
  })

  it("schema prints valid JSON Schema", async () => {
    const result = await runCli(["config", "schema"], { env })
    expect(result.code).toBe(0)
    expect(JSON.parse(result.stdout)).toMatchObject({ type: "object", properties: { gateway: expect.anything() } })
  })
})

describe("openclaw gateway", () => {
  it("a broken config: exit 2 with the error", async () => {
    const file = writeJsonFile(dir, "broken.json", { gateway: { bind: "" } })
    const result = await runCli(["gateway", "--config", file], { env })
    expect(result.code).toBe(2)
    expect(result.stderr).toContain(file)
  })

  it("exits 0 on SIGTERM", async () => {
    const gateway = await startGatewayProcess(["--config", writeJsonFile(dir, "term.json", testConfig(dir))], { env })
    gateways.push(gateway)
    expect(await gateway.stop("SIGTERM")).toBe(0)
    expect(gateway.output().stdout).toContain("shutting down")
  })
})
