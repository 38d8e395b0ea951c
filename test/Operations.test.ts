/**
 * The operators' commands end to end: `openclaw status --all` against gateway child processes on loopback (healthy,
 * unhealthy, a token without the admin scope, a refused token, nothing listening) and `openclaw doctor` as a child
 * process against config files, token files and listeners prepared for each finding, with their exit codes.
 */
import * as fs from "node:fs"
import * as http from "node:http"
import * as net from "node:net"
import * as os from "node:os"
import * as path from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { type GatewayProcess, runCli, startGatewayProcess } from "./support/Processes.js"
import { makeTempDir, removeDir, testConfig, unusedPort, writeJsonFile } from "./support/TestGateway.js"

const dir = makeTempDir("openclaw-ops-")
const home = path.join(dir, "home")
/** Children see only the temp HOME and run in the temp dir, so the config lookup finds only what a test writes. */
const env = { HOME: home }
const cwd = dir
const tokens = { admin: "ops-admin-token-0123456789", reader: "ops-reader-token-0123456789" }
const namedTokens = {
  gateway: {
    auth: {
      tokens: [
        { name: "ops", token: tokens.admin, scopes: ["admin"] },
        { name: "dashboard", token: tokens.reader, scopes: ["runs:read"], quota: { maxConcurrentRuns: 3 } }
      ]
    }
  },
  agents: { threadPool: { minThreads: 0 } }
}
const gateways: Array<GatewayProcess> = []
let healthy: GatewayProcess
let unhealthy: GatewayProcess

beforeAll(async () => {
  fs.mkdirSync(home)
  const healthyConfig = writeJsonFile(dir, "healthy.json", testConfig(dir, namedTokens))
  // The default model's provider has no key: runs that name no model fail.
  const unhealthyConfig = writeJsonFile(
    dir,
    "unhealthy.json",
    testConfig(dir, { ...namedTokens, models: { default: "anthropic/claude-test", providers: { anthropic: {} } } })
  )
  ;[healthy, unhealthy] = await Promise.all([
    startGatewayProcess(["--config", healthyConfig], { env, cwd }),
    startGatewayProcess(["--config", unhealthyConfig], { env, cwd })
  ])
  gateways.push(healthy, unhealthy)
})

afterAll(async () => {
  await Promise.all(gateways.map((gateway) => gateway.stop("SIGKILL")))
  removeDir(dir)
})

const statusAll = (gateway: GatewayProcess, token: string, ...more: ReadonlyArray<string>) =>
  runCli(["status", "--all", "--url", gateway.url, "--token", token, ...more], { env, cwd })

describe("openclaw status --all", () => {
  it("a healthy gateway: one screen of status, quotas, providers, recent errors and the verdict; exit 0", async () => {
    const result = await statusAll(healthy, tokens.admin)
    expect(result.code, result.stderr).toBe(0)
    expect(result.stdout).toMatch(/^openclaw gateway \S+ \(protocol \d+\), pid \d+, up /)
    expect(result.stdout).toContain(`listening on 127.0.0.1:${healthy.port}; config ${path.join(dir, "healthy.json")}`)
    expect(result.stdout).toMatch(/^connections: \d+; active runs: 0/m)
    expect(result.stdout).toMatch(/^thread pool: \d+ threads \(min 0, max \d+\); queue 0\/100$/m)
    expect(result.stdout).toContain("quotas: 32 concurrent runs, 600 starts a minute per principal")
    expect(result.stdout).toMatch(/^ {2}ops +0\/32 active, 0\/600 starts in the last minute$/m)
    expect(result.stdout).toMatch(/^ {2}dashboard +0\/3 active, 0\/600 starts in the last minute \(own limits\)$/m)
    expect(result.stdout).toMatch(/^providers \(default: mock\):\n {2}ok +mock +\d+ ms +built-in mock/m)
    expect(result.stdout).toContain("recent warnings and errors")
    expect(result.stdout).toMatch(/verdict: healthy\n$/)
  })

  it("--json: the status and the health as one JSON object", async () => {
    const result = await statusAll(healthy, tokens.admin, "--json")
    expect(result.code, result.stderr).toBe(0)
    expect(JSON.parse(result.stdout)).toMatchObject({
      status: { listen: `127.0.0.1:${healthy.port}`, pool: { queueSize: 100 } },
      health: { verdict: "healthy", reasons: [], defaultProvider: "mock", providers: [{ name: "mock", ok: true }] }
    })
  })

  it("an unhealthy gateway: the verdict and its reasons, exit 1 saying which", async () => {
    const result = await statusAll(unhealthy, tokens.admin)
    expect(result.code).toBe(1)
    expect(result.stdout).toMatch(/^ {2}FAIL +anthropic +\d+ ms +no API key/m)
    expect(result.stdout).toContain("verdict: unhealthy\n  - the default model's provider \"anthropic\" fails its probe")
    expect(result.stderr).toContain("the gateway is unhealthy: the default model's provider \"anthropic\"")
    const json = await statusAll(unhealthy, tokens.admin, "--json")
    expect(json.code).toBe(1)
    expect(JSON.parse(json.stdout)).toMatchObject({ health: { verdict: "unhealthy", defaultProvider: "anthropic" } })
  })

  it("a token without the admin scope: exit 4 (plain status still works with it)", async () => {
    const result = await statusAll(healthy, tokens.reader)
    expect(result.code).toBe(4)
    expect(result.stderr).toContain("dashboard lacks the scope admin")
    expect(result.stdout).toBe("")
    expect((await runCli(["status", "--url", healthy.url, "--token", tokens.reader], { env, cwd })).code).toBe(0)
  })

  it("a refused token: exit 4; nothing listening: exit 3", async () => {
    expect((await statusAll(healthy, "wrong-token")).code).toBe(4)
    const port = await unusedPort()
    const result = await runCli(["status", "--all", "--url", `ws://127.0.0.1:${port}`, "--token", "x"], { env, cwd })
    expect(result.code).toBe(3)
    expect(result.stderr).toContain("cannot reach the openclaw gateway")
  })
})

// ---------------------------------------------------------------------------------------------
// openclaw doctor
// ---------------------------------------------------------------------------------------------

interface Finding {
  readonly check: string
  readonly severity: string
  readonly message: string
  readonly fix?: string
}

const isFinding = (value: unknown): value is Finding =>
  typeof value === "object" && value !== null && "check" in value && "severity" in value && "message" in value

/** `openclaw doctor --json` on a config file written from `config`: its exit code and findings. */
const doctor = async (name: string, config: Parameters<typeof writeJsonFile>[2]) => {
  const file = writeJsonFile(dir, name, config)
  return doctorOn(file)
}

const doctorOn = async (file: string) => {
  const result = await runCli(["doctor", "--config", file, "--json"], { env, cwd })
  expect(result.signal, `${result.stdout}\n${result.stderr}`).toBeNull()
  const parsed: unknown = JSON.parse(result.stdout)
  const findings = typeof parsed === "object" && parsed !== null && "findings" in parsed &&
      Array.isArray(parsed.findings)
    ? parsed.findings.filter(isFinding)
    : []
  const of = (check: string) => findings.filter((finding) => finding.check === check)
  return { code: result.code, stderr: result.stderr, findings, of }
}

/** A token file with the given mode (and owner), and a config that makes the gateway use it. */
const tokenFileConfig = async (name: string, mode: number, port: number, content = "a-token\n") => {
  const file = path.join(dir, `${name}.token`)
  fs.writeFileSync(file, content)
  fs.chmodSync(file, mode)
  return { file, config: { gateway: { port, auth: { tokenFile: file } } } }
}

/** Listens on loopback until `close`, which also destroys the connections left (a half-closed one would stay). */
const listen = (server: net.Server): Promise<{ readonly port: number; readonly close: () => Promise<void> }> =>
  new Promise((resolve, reject) => {
    const sockets = new Set<net.Socket>()
    server.on("connection", (socket) => {
      sockets.add(socket)
      socket.on("error", () => undefined)
      socket.on("close", () => sockets.delete(socket))
    })
    server.once("error", reject)
    server.listen(0, "127.0.0.1", () => {
      const address = server.address()
      resolve({
        port: typeof address === "object" && address !== null ? address.port : 0,
        close: () =>
          new Promise((done) => {
            server.close(() => done())
            for (const socket of sockets) socket.destroy()
          })
      })
    })
  })

describe("openclaw doctor", () => {
  it("a sound setup: every check ok, exit 0; the human output lists each check and the counts", async () => {
    const port = await unusedPort()
    const { config } = await tokenFileConfig("sound", 0o600, port)
    const file = writeJsonFile(dir, "sound.json", config)
    const result = await runCli(["doctor", "--config", file], { env, cwd })
    expect(result.code, result.stdout + result.stderr).toBe(0)
    expect(result.stdout).toContain(`ok       config     ${file} is valid`)
    expect(result.stdout).toContain(`ok       port       127.0.0.1:${port} is free`)
    expect(result.stdout).toMatch(/^ok {7}auth {7}the token file \S+ has mode 0600 and is yours$/m)
    for (const check of ["bind", "threads", "memory", "providers"]) expect(result.stdout).toMatch(`\nok       ${check}`)
    expect(result.stdout).toMatch(/\n0 errors, 0 warnings\n$/)
  })

  it("a bad config file: an error with the file and the key's path, the other checks skipped; exit 1", async () => {
    const syntax = path.join(dir, "syntax.json")
    fs.writeFileSync(syntax, "{\n  \"gateway\": {,\n}")
    // A directory stands for an unreadable file (the tests may run as root, who reads any file).
    const [invalid, broken, missing, unreadable] = await Promise.all([
      doctor("invalid.json", { gateway: { port: "nope" }, surprise: true }),
      doctorOn(syntax),
      doctorOn(path.join(dir, "nowhere.json")),
      doctorOn(dir)
    ])
    expect(invalid.code).toBe(1)
    expect(invalid.of("config")[0]).toMatchObject({ severity: "error", fix: expect.stringContaining("config schema") })
    expect(invalid.of("config")[0]?.message).toContain(path.join(dir, "invalid.json"))
    expect(invalid.of("config")[0]?.message).toContain("gateway.port: expected")
    expect(invalid.of("config")[0]?.message).toContain("surprise: unknown key")
    expect(invalid.findings.map((finding) => finding.check)).toEqual(["config", "config"])

    expect(broken.code).toBe(1)
    expect(broken.of("config")[0]?.message).toContain("invalid JSON at line 2")

    expect(missing.code).toBe(1)
    expect(missing.of("config")[0]?.message).toContain("file not found")

    expect(unreadable.code).toBe(1)
    expect(unreadable.of("config")[0]?.fix).toContain("readable")
  })

  it("a token file with mode 0644: an error saying to chmod 600; exit 1; an empty one: an error", async () => {
    // Doctors that run side by side each get a port: each probes its port by listening on it.
    const open = await tokenFileConfig("open", 0o644, await unusedPort())
    const empty = await tokenFileConfig("empty", 0o600, await unusedPort(), "")
    const [result, emptyResult] = await Promise.all([doctor("open.json", open.config), doctor("empty.json", empty.config)])
    expect(result.code).toBe(1)
    expect(result.of("auth")).toEqual([{
      check: "auth",
      severity: "error",
      message: expect.stringContaining(`${open.file} has mode 0644: other users`),
      fix: expect.stringContaining(`chmod 600 ${open.file}`)
    }])
    expect(emptyResult.of("auth")[0]).toMatchObject({
      severity: "error",
      message: `the token file ${empty.file} is empty`
    })
  })

  it.skipIf(process.getuid?.() !== 0)("a token file owned by another user: an error saying to chown it", async () => {
    const port = await unusedPort()
    const theirs = await tokenFileConfig("theirs", 0o600, port)
    fs.chownSync(theirs.file, 65534, 65534)
    const result = await doctor("theirs.json", theirs.config)
    expect(result.code).toBe(1)
    expect(result.of("auth")[0]).toMatchObject({
      severity: "error",
      message: expect.stringContaining("is owned by uid 65534, not by you"),
      fix: expect.stringContaining(`chown ${os.userInfo().username} ${theirs.file}`)
    })
  })

  it("no token file yet: a warning; tokens in the config: ok; authentication off: a warning", async () => {
    const [port, port2, port3] = await Promise.all([unusedPort(), unusedPort(), unusedPort()])
    const [none, named, off] = await Promise.all([
      doctor("no-file.json", { gateway: { port, auth: { tokenFile: path.join(dir, "absent") } } }),
      doctor("named.json", { ...namedTokens, gateway: { auth: namedTokens.gateway.auth, port: port2 } }),
      doctor("off.json", { gateway: { port: port3 }, security: { websocket: { enabled: false } } })
    ])
    expect(none.code).toBe(0)
    expect(none.of("auth")[0]).toMatchObject({ severity: "warning", fix: expect.stringContaining("openclaw gateway") })
    expect(named.of("auth")[0]).toMatchObject({ severity: "ok", message: expect.stringContaining("2 named token(s)") })
    expect(off.of("auth")[0]).toMatchObject({ severity: "warning", message: expect.stringContaining("off") })
  })

  it("the port taken by a program that is not a gateway: an error naming it; exit 1", async () => {
    const notGateway = await listen(http.createServer((_request, response) => response.writeHead(404).end("nope")))
    const raw = await listen(net.createServer((socket) => socket.end("SSH-2.0-not-http\r\n")))
    try {
      const [web, other] = await Promise.all([
        doctor("taken.json", { gateway: { port: notGateway.port, auth: { token: "t-0123456789" } } }),
        doctor("taken-raw.json", { gateway: { port: raw.port, auth: { token: "t-0123456789" } } })
      ])
      expect(web.code).toBe(1)
      expect(web.of("port")[0]).toMatchObject({
        severity: "error",
        message: `127.0.0.1:${notGateway.port} is taken by another program (it answered GET /healthz with HTTP 404, ` +
          "not as a gateway)",
        fix: expect.stringContaining("choose another port (gateway.port in")
      })
      expect(other.code).toBe(1)
      expect(other.of("port")[0]?.message).toMatch(`127.0.0.1:${raw.port} is taken by another program`)
    } finally {
      await Promise.all([notGateway.close(), raw.close()])
    }
  })

  it("the port held by a running gateway: ok, saying so", async () => {
    const result = await doctor("held.json", { gateway: { auth: namedTokens.gateway.auth, port: healthy.port } })
    expect(result.code, JSON.stringify(result.findings)).toBe(0)
    expect(result.of("port")[0]).toMatchObject({
      severity: "ok",
      message: expect.stringMatching(/is held by a running openclaw gateway \(version \S+\)$/)
    })
  })

  it("a bind address that is not this machine's: an error", async () => {
    // 192.0.2.1 is TEST-NET-1 (RFC 5737): never assigned to a host.
    const result = await doctor("elsewhere.json", { gateway: { bind: "192.0.2.1", auth: { token: "t-0123456789" } } })
    expect(result.code).toBe(1)
    expect(result.of("port")[0]).toMatchObject({ severity: "error", message: expect.stringContaining("192.0.2.1") })
  })

  it("maxThreads above the cores and heaps above memory: warnings that explain, exit 0", async () => {
    const cores = os.availableParallelism()
    const port = await unusedPort()
    const result = await doctor("threads.json", {
      gateway: { port, auth: { token: "t-0123456789" } },
      agents: { threadPool: { maxThreads: cores + 1, limits: { heapMb: 65_536 } } }
    })
    expect(result.code).toBe(0)
    expect(result.of("threads")[0]).toMatchObject({
      severity: "warning",
      message: expect.stringContaining(`maxThreads is ${cores + 1} but this machine has ${cores} cores`),
      fix: expect.stringContaining(`Set agents.threadPool.maxThreads to ${cores} or fewer`)
    })
    expect(result.of("memory")[0]).toMatchObject({
      severity: "warning",
      message: expect.stringContaining(`65536 MB x ${cores + 1} threads`),
      fix: expect.stringMatching(/^Lower agents\.threadPool\./)
    })
  })

  it("a non-loopback bind: an error without a token, a warning without TLS", async () => {
    const [port, port2] = await Promise.all([unusedPort(), unusedPort()])
    const [bare, tokened] = await Promise.all([
      doctor("wide.json", { gateway: { bind: "0.0.0.0", port } }),
      doctor("wide-token.json", { gateway: { bind: "0.0.0.0", port: port2, auth: { token: "t-01234" } } })
    ])
    expect(bare.code).toBe(1)
    expect(bare.of("auth")[0]).toMatchObject({ severity: "error", message: expect.stringContaining("refuses to start") })
    expect(bare.of("bind")[0]).toMatchObject({ severity: "warning", fix: expect.stringContaining("gateway.tls") })
    expect(tokened.code).toBe(0)
    expect(tokened.of("bind")[0]?.severity).toBe("warning")
  })

  it("providers without keys: a warning, an error when it is the default model's", async () => {
    const [port, port2] = await Promise.all([unusedPort(), unusedPort()])
    const auth = { token: "t-0123456789" }
    const [other, byDefault] = await Promise.all([
      doctor("keyless.json", { gateway: { port, auth }, models: { providers: { openai: {} } } }),
      doctor("keyless-default.json", {
        gateway: { port: port2, auth },
        models: { default: "anthropic/claude-test", providers: { anthropic: {}, openai: { apiKey: "sk-x" } } }
      })
    ])
    expect(other.code).toBe(0)
    expect(other.of("providers")).toEqual([{
      check: "providers",
      severity: "warning",
      message: "models.providers.openai has no API key: runs on openai are refused",
      fix: "Set models.providers.openai.apiKey, e.g. {\"env\": \"OPENAI_API_KEY\"}, or remove the section."
    }])
    expect(byDefault.code).toBe(1)
    expect(byDefault.of("providers").map((finding) => [finding.severity, finding.message.split(" ")[0]])).toEqual([
      ["ok", "openai"],
      ["error", "anthropic,"]
    ])
  })
})
