/** openclaw.json: the Schema, its defaults and rules, the file lookup, error reports, secrets and the JSON Schema. */
import { FileSystem, Path } from "@effect/platform"
import { NodeFileSystem, NodePath } from "@effect/platform-node"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Either, Layer, Logger, Option, Predicate, Redacted } from "effect"
import * as os from "node:os"
import { configJsonSchema } from "../src/Config/ConfigJsonSchema.js"
import {
  ConfigError,
  decodeConfig,
  loadConfig,
  type LookupOptions,
  parseConfigText,
  renderConfig,
  resolveConfigPath
} from "../src/Config/ConfigLoader.js"
import { defaultModelOf } from "../src/Config/ConfigSchema.js"
import { GatewayConfig } from "../src/Config/GatewayConfig.js"

const Platform = Layer.merge(NodeFileSystem.layer, NodePath.layer)

/** A temp dir holding `files` (relative paths), removed when the test's scope closes. */
const tempTree = (files: Record<string, string>) =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const path = yield* Path.Path
    const dir = yield* fs.makeTempDirectoryScoped({ prefix: "openclaw-config-" })
    yield* fs.makeDirectory(path.join(dir, "cwd"), { recursive: true })
    yield* fs.makeDirectory(path.join(dir, "home"), { recursive: true })
    for (const [name, content] of Object.entries(files)) {
      const file = path.join(dir, name)
      yield* fs.makeDirectory(path.dirname(file), { recursive: true })
      yield* fs.writeFileString(file, content)
    }
    /** Lookup inputs that never see the real cwd, $HOME or environment. */
    const isolated = (env: Record<string, string> = {}): LookupOptions => ({
      cwd: path.join(dir, "cwd"),
      home: path.join(dir, "home"),
      env
    })
    return { dir, file: (name: string) => path.join(dir, name), isolated }
  })

/** Loads `content` as the explicit config file; returns the result and the file's path. */
const loadText = (content: string, options: LookupOptions = {}) =>
  Effect.gen(function*() {
    const tree = yield* tempTree({ "openclaw.json": content })
    const file = tree.file("openclaw.json")
    const loaded = yield* loadConfig(Option.some(file), { ...tree.isolated(), ...options })
    return { ...loaded, path: file }
  })

const loadError = (content: string) =>
  Effect.gen(function*() {
    const tree = yield* tempTree({ "openclaw.json": content })
    const file = tree.file("openclaw.json")
    const error = yield* Effect.flip(loadConfig(Option.some(file), tree.isolated()))
    return { error, path: file }
  })

/** Sets an environment variable for the test's scope. */
const withEnv = (name: string, value: string) =>
  Effect.acquireRelease(
    Effect.sync(() => {
      process.env[name] = value
    }),
    () =>
      Effect.sync(() => {
        delete process.env[name]
      })
  )

/** `security.websocket` with nothing set, which is also the seed's example (it sets exactly the defaults). */
const websocketDefaults = {
  enabled: true,
  handshakeAuth: "BearerToken",
  messageAuth: "JWT",
  heartbeatInterval: 15000,
  allowedOrigins: [],
  maxConnections: 1024,
  maxConnectionsPerPrincipal: 256,
  maxStreamsPerConnection: 64,
  maxMessagesPerSecond: 500,
  maxBufferedBytes: 16 * 1024 * 1024,
  handshakeTimeoutMs: 10000
}

describe("Config", () => {
  it.layer(Platform)((it) => {
    describe("defaults", () => {
      it.scoped("no file at all gives the documented defaults", () =>
        Effect.gen(function*() {
          const tree = yield* tempTree({})
          const { config, file, warnings } = yield* loadConfig(Option.none(), tree.isolated())
          expect(Option.isNone(file)).toBe(true)
          expect(warnings).toEqual([])
          expect(config.gateway.port).toBe(18789)
          expect(config.gateway.bind).toBe("127.0.0.1")
          expect(config.gateway.shutdownGraceMs).toBe(5000)
          expect(config.gateway.auth.token).toBeUndefined()
          expect(config.acp.defaultAgent).toBe("codex")
          expect(config.acp.allowedAgents).toEqual(["codex", "subagent"])
          expect(config.acp.codex).toEqual({
            transport: "websocket",
            streaming: true,
            maxMessageSize: 104857600,
            keepAliveInterval: 30000
          })
          expect(config.agents.threadPool).toEqual({
            maxThreads: os.availableParallelism(),
            minThreads: 1,
            idleTimeout: 30000,
            queueSize: 100,
            limits: { heapMb: 512, cpuTimeMs: 300000 }
          })
          expect(config.agents.maxSteps).toBe(8)
          expect(config.quotas).toEqual({ maxConcurrentRuns: 32, runsPerMinute: 600 })
          expect(config.security.websocket).toEqual(websocketDefaults)
          expect(config.security.jwt.ttlSeconds).toBe(900)
          expect(config.security.jwt.clockSkewSeconds).toBe(30)
          expect(config.gateway.auth.tokens).toEqual([])
          expect(config.models.default).toBeUndefined()
          expect(defaultModelOf(config)).toBe("mock/mock-1")
          expect(config.models.providers.mock.model).toBe("mock-1")
          expect(config.models.providers.mock.fail).toBeUndefined()
          expect(config.runs).toEqual({ defaultTimeoutMs: 600000, eventBuffer: 1024, eventBufferBytes: 1048576, tokenFlushMs: 0 })
        }))

      it.scoped("an empty object and a blank file equal the embedded defaults", () =>
        Effect.gen(function*() {
          const tree = yield* tempTree({})
          const defaults = yield* loadConfig(Option.none(), tree.isolated())
          const empty = yield* loadText("{}")
          const blank = yield* loadText("  \n")
          expect(empty.config).toEqual(defaults.config)
          expect(blank.config).toEqual(defaults.config)
          expect(empty.file).toEqual(Option.some(empty.path))
        }))
    })

    describe("the seed's examples decode verbatim", () => {
      it.scoped("acp", () =>
        Effect.gen(function*() {
          const { config } = yield* loadText(
            `{"acp":{"defaultAgent":"codex","allowedAgents":["codex","subagent"],"codex":{"transport":"websocket",` +
              `"streaming":true,"maxMessageSize":"100MB","keepAliveInterval":30000}}}`
          )
          expect(config.acp).toEqual({
            defaultAgent: "codex",
            allowedAgents: ["codex", "subagent"],
            codex: {
              transport: "websocket",
              streaming: true,
              maxMessageSize: 100 * 1024 * 1024,
              keepAliveInterval: 30000
            }
          })
        }))

      it.scoped("agents.threadPool", () =>
        Effect.gen(function*() {
          const { config } = yield* loadText(
            `{"agents":{"threadPool":{"maxThreads":10,"minThreads":2,"idleTimeout":30000,"queueSize":100}}}`
          )
          expect(config.agents.threadPool).toEqual({
            maxThreads: 10,
            minThreads: 2,
            idleTimeout: 30000,
            queueSize: 100,
            limits: { heapMb: 512, cpuTimeMs: 300000 }
          })
        }))

      it.scoped("security.websocket", () =>
        Effect.gen(function*() {
          const { config } = yield* loadText(
            `{"security":{"websocket":{"enabled":true,"handshakeAuth":"BearerToken","messageAuth":"JWT",` +
              `"heartbeatInterval":15000}}}`
          )
          expect(config.security.websocket).toEqual(websocketDefaults)
        }))
    })

    describe("sizes", () => {
      const size = (value: unknown) => decodeConfig({ acp: { codex: { maxMessageSize: value } } }, "f.json")

      it("accepts units and plain byte counts", () => {
        expect(Either.map(size("100MB"), (c) => c.acp.codex.maxMessageSize)).toEqual(Either.right(104857600))
        expect(Either.map(size("512KB"), (c) => c.acp.codex.maxMessageSize)).toEqual(Either.right(524288))
        expect(Either.map(size("1GB"), (c) => c.acp.codex.maxMessageSize)).toEqual(Either.right(1024 ** 3))
        expect(Either.map(size(1024), (c) => c.acp.codex.maxMessageSize)).toEqual(Either.right(1024))
      })

      it.scoped("refuses an unknown unit, naming the path and the value", () =>
        Effect.gen(function*() {
          const { error, path } = yield* loadError(`{"acp":{"codex":{"maxMessageSize":"100XB"}}}`)
          expect(error.reason).toBe("InvalidConfig")
          expect(error.file).toBe(path)
          expect(error.issues).toEqual([
            { path: "acp.codex.maxMessageSize", message: `expected a size such as "100MB", got "100XB"` }
          ])
        }))

      it("refuses zero and negative sizes", () => {
        expect(Either.isLeft(size(0))).toBe(true)
        expect(Either.isLeft(size(-5))).toBe(true)
        expect(Either.isLeft(size("0MB"))).toBe(true)
      })
    })

    describe("error reports", () => {
      it.scoped("an unknown top-level key names the key and the file", () =>
        Effect.gen(function*() {
          const { error, path } = yield* loadError(`{"gatway":{"port":1}}`)
          expect(error).toBeInstanceOf(ConfigError)
          expect(error.issues).toHaveLength(1)
          expect(error.issues[0]?.path).toBe("gatway")
          expect(error.issues[0]?.message).toMatch(/^unknown key \(expected one of .*"gateway"/)
          expect(error.message.startsWith(`openclaw.json error in ${path}:\n  gatway: unknown key`)).toBe(true)
        }))

      it.scoped("an unknown nested key names its full path", () =>
        Effect.gen(function*() {
          const { error, path } = yield* loadError(`{"acp":{"codex":{"foo":1,"streaming":true}}}`)
          expect(error.issues.map((issue) => issue.path)).toEqual(["acp.codex.foo"])
          expect(error.issues[0]?.message).toContain("\"maxMessageSize\"")
          expect(error.message).toContain(path)
          expect(error.message).toContain("\n  acp.codex.foo: unknown key")
        }))

      it.scoped("a wrong type says what was expected and what was found", () =>
        Effect.gen(function*() {
          const { error } = yield* loadError(`{"gateway":{"port":"18789"},"acp":{"codex":{"streaming":"yes"}}}`)
          expect(error.issues).toEqual([
            { path: "gateway.port", message: `expected number, got "18789"` },
            { path: "acp.codex.streaming", message: `expected boolean, got "yes"` }
          ])
        }))

      it("folds a union's alternatives into one line", () => {
        const result = decodeConfig({ acp: { defaultAgent: "x", allowedAgents: ["codex", "y"] } }, "f.json")
        expect(Either.isLeft(result) && result.left.issues).toEqual([
          { path: "acp.defaultAgent", message: `expected "codex" | "subagent", got "x"` },
          { path: "acp.allowedAgents[1]", message: `expected "codex" | "subagent", got "y"` }
        ])
      })

      it("reports every problem, a section of the wrong shape as 'an object', an out-of-range number", () => {
        const result = decodeConfig({ agents: [], runs: { eventBuffer: 0 }, gateway: { auth: { token: 5 } } }, null)
        expect(Either.isLeft(result) && result.left.issues).toEqual([
          { path: "gateway.auth.token", message: `expected string | {"env": "NAME"}, got 5` },
          { path: "agents", message: "expected an object, got []" },
          { path: "runs.eventBuffer", message: "expected a number between 1 and 1000000, got 0" }
        ])
        expect(Either.isLeft(result) && result.left.message).toMatch(/^openclaw\.json error in <embedded defaults>:\n/)
      })

      it("a file that is not an object is reported at the root", () => {
        const result = decodeConfig([1, 2], "f.json")
        expect(Either.isLeft(result) && result.left.issues).toEqual([
          { path: "", message: "expected an object, got [1,2]" }
        ])
        expect(Either.isLeft(result) && result.left.message).toBe(
          "openclaw.json error in f.json:\n  expected an object, got [1,2]"
        )
      })

      it.scoped("broken JSON reports the line and column", () =>
        Effect.gen(function*() {
          const { error, path } = yield* loadError(`{\n  "gateway": {\n    "port": 1,\n  }\n}\n`)
          expect(error.reason).toBe("InvalidJson")
          expect(error.file).toBe(path)
          expect(error.issues).toEqual([
            { path: "", message: `invalid JSON at line 4, column 3: expected a double-quoted key, found "}"` }
          ])
          expect(error.message).toBe(
            `openclaw.json error in ${path}:\n` +
              `  invalid JSON at line 4, column 3: expected a double-quoted key, found "}"`
          )
        }))

      it("locates errors that Node's JSON.parse gives no position for", () => {
        const result = parseConfigText(`{"gateway": {"port": }}`, "f.json")
        expect(Either.isLeft(result) && result.left.issues[0]?.message).toBe(
          `invalid JSON at line 1, column 22: expected a value, found "}"`
        )
        const truncated = parseConfigText(`{"gateway": {`, "f.json")
        expect(Either.isLeft(truncated) && truncated.left.issues[0]?.message).toBe(
          "invalid JSON at line 1, column 14: expected a double-quoted key, found end of file"
        )
      })

      it("ConfigError is a tagged error", () => {
        const error = new ConfigError({ reason: "NotFound", file: "/x.json", issues: [{ path: "", message: "gone" }] })
        expect(error._tag).toBe("ConfigError")
        expect(error.message).toBe("openclaw.json error in /x.json:\n  gone")
      })
    })

    describe("cross-field rules", () => {
      it.scoped("minThreads must not exceed maxThreads", () =>
        Effect.gen(function*() {
          const { error } = yield* loadError(`{"agents":{"threadPool":{"maxThreads":2,"minThreads":3}}}`)
          expect(error.issues).toEqual([
            { path: "agents.threadPool.minThreads", message: "minThreads (3) must not exceed maxThreads (2)" }
          ])
        }))

      it.scoped("a thread heap limit under 64 MB is refused (such threads die at start-up)", () =>
        Effect.gen(function*() {
          const { error } = yield* loadError(`{"agents":{"threadPool":{"limits":{"heapMb":48}}}}`)
          expect(error.issues.map((issue) => issue.path)).toEqual(["agents.threadPool.limits.heapMb"])
        }))

      it("minThreads equal to maxThreads is fine", () => {
        const result = decodeConfig({ agents: { threadPool: { maxThreads: 2, minThreads: 2 } } }, null)
        expect(Either.map(result, (config) => config.agents.threadPool.minThreads)).toEqual(Either.right(2))
      })

      it("defaultAgent must be one of allowedAgents", () => {
        const result = decodeConfig({ acp: { defaultAgent: "subagent", allowedAgents: ["codex"] } }, "f.json")
        expect(Either.isLeft(result) && result.left.issues).toEqual([
          { path: "acp.defaultAgent", message: `defaultAgent "subagent" must be one of allowedAgents ("codex")` }
        ])
      })

      it("named tokens: names and values are unique, \"default\" is the name of gateway.auth.token", () => {
        const ok = decodeConfig({
          gateway: {
            auth: {
              token: "t0",
              tokens: [{ name: "ci", token: "t1", scopes: ["runs:read"], quota: { maxConcurrentRuns: 2 } }]
            }
          }
        }, "f.json")
        expect(Either.map(ok, (config) => config.gateway.auth.tokens.map((token) => [token.name, token.scopes])))
          .toEqual(Either.right([["ci", ["runs:read"]]]))
        const issuesOf = (auth: Record<string, unknown>) => {
          const result = decodeConfig({ gateway: { auth } }, "f.json")
          return Either.isLeft(result) ? result.left.issues : []
        }
        expect(issuesOf({ token: "t0", tokens: [{ name: "default", token: "t1", scopes: [] }] })).toEqual([
          {
            path: "gateway.auth.tokens",
            message: "token name \"default\" is used twice (\"default\" is the name of `token`)"
          }
        ])
        expect(issuesOf({ tokens: [{ name: "a", token: "t1", scopes: [] }, { name: "a", token: "t2", scopes: [] }] }))
          .toEqual([{ path: "gateway.auth.tokens", message: "token name \"a\" is used twice" }])
        expect(issuesOf({ tokens: [{ name: "a", token: "t1", scopes: [] }, { name: "b", token: "t1", scopes: [] }] }))
          .toEqual([
            { path: "gateway.auth.tokens", message: "two tokens have the same value: each principal needs its own" }
          ])
        expect(issuesOf({ tokens: [{ name: "a", token: "t1", scopes: ["root"] }] }).map((issue) => issue.path))
          .toEqual(["gateway.auth.tokens[0].scopes[0]"])
      })

      it("models.default must name a configured provider", () => {
        const result = decodeConfig({ models: { default: "openai/gpt-4o" } }, "f.json")
        expect(Either.isLeft(result) && result.left.issues).toEqual([
          {
            path: "models.default",
            message: `provider "openai" is not configured in models.providers (configured: "mock")`
          }
        ])
        const inherited = decodeConfig({ models: { default: "constructor/x" } }, "f.json")
        expect(Either.isLeft(inherited)).toBe(true)
      })

      it("logging and telemetry: defaults off and quiet, bad values named by path", () => {
        const defaults = decodeConfig({}, "f.json")
        expect(Either.isRight(defaults) && defaults.right.logging).toEqual({ level: "info", format: "auto", ringSize: 2000 })
        expect(Either.isRight(defaults) && defaults.right.telemetry).toEqual({
          serviceName: "openclaw-gateway",
          prometheus: false
        })
        const bad = decodeConfig(
          { logging: { level: "loud" }, telemetry: { otlp: { endpoint: "collector:4318" }, prometheus: "yes" } },
          "f.json"
        )
        expect(Either.isLeft(bad) && bad.left.issues.map((issue) => issue.path)).toEqual([
          "logging.level",
          "telemetry.otlp.endpoint",
          "telemetry.prometheus"
        ])
      })
    })

    describe("secrets", () => {
      it.scoped("{\"env\": NAME} is resolved at load and never printed", () =>
        Effect.gen(function*() {
          yield* withEnv("OPENCLAW_TEST_TOKEN_1", "tok-from-env-1234")
          const { config } = yield* loadText(
            `{"gateway":{"auth":{"token":{"env":"OPENCLAW_TEST_TOKEN_1"}}},` +
              `"security":{"jwt":{"secret":"literal-key-5678"}}}`
          )
          const token = config.gateway.auth.token
          const secret = config.security.jwt.secret
          expect(token !== undefined && Redacted.value(token)).toBe("tok-from-env-1234")
          expect(secret !== undefined && Redacted.value(secret)).toBe("literal-key-5678")
          expect(String(token)).toBe("<redacted>")
          expect(JSON.stringify(config)).not.toContain("tok-from-env-1234")
          const rendered = renderConfig(config)
          expect(rendered).not.toContain("tok-from-env-1234")
          expect(rendered).not.toContain("literal-key-5678")
          const parsed: unknown = JSON.parse(rendered)
          expect(parsed).toMatchObject({
            gateway: { port: 18789, auth: { token: "<redacted>" } },
            security: { jwt: { secret: "<redacted>" } },
            acp: { codex: { maxMessageSize: 104857600 } }
          })
        }))

      it.scoped("a missing environment variable is an error naming the path and the variable", () =>
        Effect.gen(function*() {
          const { error } = yield* loadError(`{"security":{"jwt":{"secret":{"env":"OPENCLAW_TEST_UNSET_VAR_9"}}}}`)
          expect(error.issues).toEqual([
            { path: "security.jwt.secret", message: "environment variable OPENCLAW_TEST_UNSET_VAR_9 is not set" }
          ])
        }))
    })

    describe("lookup order", () => {
      const files = {
        "explicit.json": `{"gateway":{"port":1001}}`,
        "env.json": `{"gateway":{"port":1002}}`,
        "cwd/openclaw.json": `{"gateway":{"port":1003}}`,
        "home/.openclaw/openclaw.json": `{"gateway":{"port":1004}}`
      }

      it.scoped("explicit > OPENCLAW_CONFIG > ./openclaw.json > ~/.openclaw/openclaw.json > defaults", () =>
        Effect.gen(function*() {
          const fs = yield* FileSystem.FileSystem
          const tree = yield* tempTree(files)
          const env = { OPENCLAW_CONFIG: tree.file("env.json") }
          const port = (explicit: Option.Option<string>, options: LookupOptions) =>
            Effect.map(loadConfig(explicit, options), ({ config, file }) => [config.gateway.port, file] as const)

          expect(yield* port(Option.some(tree.file("explicit.json")), tree.isolated(env))).toEqual(
            [1001, Option.some(tree.file("explicit.json"))]
          )
          expect(yield* port(Option.none(), tree.isolated(env))).toEqual([1002, Option.some(tree.file("env.json"))])
          expect(yield* port(Option.none(), tree.isolated())).toEqual(
            [1003, Option.some(tree.file("cwd/openclaw.json"))]
          )
          yield* fs.remove(tree.file("cwd/openclaw.json"))
          expect(yield* port(Option.none(), tree.isolated())).toEqual(
            [1004, Option.some(tree.file("home/.openclaw/openclaw.json"))]
          )
          yield* fs.remove(tree.file("home/.openclaw/openclaw.json"))
          expect(yield* port(Option.none(), tree.isolated())).toEqual([18789, Option.none()])
        }))

      it.scoped("a relative explicit path is resolved against the cwd", () =>
        Effect.gen(function*() {
          const tree = yield* tempTree(files)
          const file = yield* resolveConfigPath(Option.some("../explicit.json"), tree.isolated())
          expect(file).toEqual(Option.some(tree.file("explicit.json")))
        }))

      it.scoped("an explicit path that does not exist is an error, even when other candidates exist", () =>
        Effect.gen(function*() {
          const tree = yield* tempTree(files)
          const missing = tree.file("nope.json")
          const fromFlag = yield* Effect.flip(resolveConfigPath(Option.some(missing), tree.isolated()))
          expect(fromFlag.reason).toBe("NotFound")
          expect(fromFlag.file).toBe(missing)
          expect(fromFlag.message).toBe(`openclaw.json error in ${missing}:\n  file not found (given by the command line)`)
          const fromEnv = yield* Effect.flip(loadConfig(Option.none(), tree.isolated({ OPENCLAW_CONFIG: missing })))
          expect(fromEnv.reason).toBe("NotFound")
          expect(fromEnv.message).toContain("given by OPENCLAW_CONFIG")
        }))

      it.scoped("an empty OPENCLAW_CONFIG counts as unset", () =>
        Effect.gen(function*() {
          const tree = yield* tempTree(files)
          const file = yield* resolveConfigPath(Option.none(), tree.isolated({ OPENCLAW_CONFIG: "" }))
          expect(file).toEqual(Option.some(tree.file("cwd/openclaw.json")))
        }))
    })

    describe("warnings", () => {
      it.scoped("maxThreads above the CPU cores is accepted with a warning", () =>
        Effect.gen(function*() {
          const over = yield* loadText(`{"agents":{"threadPool":{"maxThreads":3}}}`, { cores: 2 })
          expect(over.config.agents.threadPool.maxThreads).toBe(3)
          expect(over.warnings).toEqual([
            "agents.threadPool.maxThreads (3) exceeds the number of CPU cores (2): runs beyond that compete for CPU"
          ])
          const within = yield* loadText(`{"agents":{"threadPool":{"maxThreads":2}}}`, { cores: 2 })
          expect(within.warnings).toEqual([])
        }))

      it.scoped("the real core count is the default comparison", () =>
        Effect.gen(function*() {
          const cores = os.availableParallelism()
          const { warnings } = yield* loadText(`{"agents":{"threadPool":{"maxThreads":${cores + 1}}}}`)
          expect(warnings).toHaveLength(1)
          expect(warnings[0]).toContain(`(${cores})`)
        }))
    })

    describe("GatewayConfig.layer", () => {
      it.scoped("provides the loaded config and logs the warnings", () =>
        Effect.gen(function*() {
          const tree = yield* tempTree({ "cwd/openclaw.json": `{"agents":{"threadPool":{"maxThreads":4}}}` })
          const logs: Array<string> = []
          const capture = Logger.make(({ logLevel, message }) => {
            logs.push(`${logLevel.label} ${Array.isArray(message) ? message.join(" ") : String(message)}`)
          })
          const service = yield* GatewayConfig.pipe(
            Effect.provide(GatewayConfig.layer(Option.none(), { ...tree.isolated(), cores: 1 })),
            Effect.provide(Logger.add(capture))
          )
          expect(service.config.agents.threadPool.maxThreads).toBe(4)
          expect(service.file).toEqual(Option.some(tree.file("cwd/openclaw.json")))
          expect(logs).toEqual([
            "WARN agents.threadPool.maxThreads (4) exceeds the number of CPU cores (1): " +
            "runs beyond that compete for CPU"
          ])
        }))

      it.scoped("fails with ConfigError", () =>
        Effect.gen(function*() {
          const tree = yield* tempTree({})
          const error = yield* GatewayConfig.pipe(
            Effect.provide(GatewayConfig.layer(Option.some(tree.file("missing.json")), tree.isolated())),
            Effect.flip
          )
          expect(error).toBeInstanceOf(ConfigError)
          expect(error.reason).toBe("NotFound")
        }))
    })
  })

  describe("JSON Schema", () => {
    const schema = configJsonSchema()
    const isRecord = Predicate.isRecord
    /** The sub-schema at `keys`, following `properties` only. */
    const at = (...keys: ReadonlyArray<string>): Record<string, unknown> =>
      keys.reduce<Record<string, unknown>>((node, key) => {
        const properties = node["properties"]
        const next = isRecord(properties) ? properties[key] : undefined
        if (!isRecord(next)) throw new Error(`no property ${key}`)
        return next
      }, { ...schema })

    it("is a draft-07 object schema with the file's sections at the root", () => {
      expect(schema.$schema).toBe("http://json-schema.org/draft-07/schema#")
      const root = at()
      expect(root["type"]).toBe("object")
      expect(Object.keys(isRecord(root["properties"]) ? root["properties"] : {})).toEqual(
        ["$schema", "gateway", "acp", "agents", "security", "models", "runs", "quotas", "logging", "telemetry"]
      )
      expect(at("acp", "codex")["type"]).toBe("object")
    })

    it("refuses additional properties on every object", () => {
      const objects: Array<unknown> = []
      const walk = (node: unknown): void => {
        if (Array.isArray(node)) return node.forEach(walk)
        if (!isRecord(node)) return
        // Structs, that is: a record (e.g. telemetry.otlp.headers) has no properties of its own and a value schema.
        if (node["type"] === "object" && isRecord(node["properties"]) && Object.keys(node["properties"]).length > 0) {
          objects.push(node["additionalProperties"])
        }
        Object.values(node).forEach(walk)
      }
      walk(schema)
      expect(objects.length).toBeGreaterThan(10)
      expect(objects.every((value) => value === false)).toBe(true)
      expect(at()["additionalProperties"]).toBe(false)
      expect(at("acp", "codex")["additionalProperties"]).toBe(false)
    })

    it("describes the file side: sizes as integer or string, secrets as string or {env}", () => {
      const size = at("acp", "codex", "maxMessageSize")
      expect(size["anyOf"]).toMatchObject([{ type: "integer" }, { type: "string" }])
      expect(size["default"]).toBe(104857600)
      const token = at("gateway", "auth", "token")
      expect(token["anyOf"]).toMatchObject([{ type: "string" }, { type: "object", required: ["env"] }])
    })

    it("documents each key with its description and default", () => {
      expect(at("gateway", "port")).toMatchObject({ type: "integer", minimum: 0, maximum: 65535, default: 18789 })
      expect(at("gateway", "port")["description"]).toContain("Default 18789")
      expect(at("acp", "defaultAgent")).toMatchObject({ enum: ["codex", "subagent"], default: "codex" })
      expect(at("agents", "threadPool", "maxThreads")["description"]).toContain("CPU cores")
      expect(at("models", "providers", "mock", "fail", "status")["description"]).toContain("status")
      expect(at("gateway")["description"]).toBe("The HTTP + WebSocket listener.")
    })
  })
})
