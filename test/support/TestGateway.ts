/**
 * Test helpers for starting gateways: temp directories, an `openclaw.json` for tests (free port,
 * token file in the temp dir, a fast mock model), and the gateway in-process as a scoped Effect.
 */
import { Effect, Layer, Option } from "effect"
import { afterAll, beforeAll } from "vitest"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { configLayer, GatewayLive, withGatewayScheduler } from "../../src/Gateway/GatewayMain.js"
import { RunSupervisor } from "../../src/Agents/RunSupervisor.js"
import { SessionTokens } from "../../src/Auth/SessionTokens.js"
import { GatewayServer } from "../../src/Gateway/GatewayServer.js"

type Json = null | boolean | number | string | ReadonlyArray<Json> | { readonly [key: string]: Json }

const isObject = (value: Json | undefined): value is { readonly [key: string]: Json } =>
  typeof value === "object" && value !== null && !Array.isArray(value)

/** `patch` on top of `base`, objects merged key by key, anything else replaced. */
export const mergeJson = (base: Json, patch: Json): Json => {
  if (!isObject(base) || !isObject(patch)) return patch
  const merged: Record<string, Json> = { ...base }
  for (const [key, value] of Object.entries(patch)) {
    const current = merged[key]
    merged[key] = current === undefined ? value : mergeJson(current, value)
  }
  return merged
}

/** A temp directory, removed with everything in it. */
export const makeTempDir = (prefix = "openclaw-test-"): string => fs.mkdtempSync(path.join(os.tmpdir(), prefix))
export const removeDir = (dir: string): void => fs.rmSync(dir, { recursive: true, force: true })

export const scopedTempDir = (prefix?: string) =>
  Effect.acquireRelease(Effect.sync(() => makeTempDir(prefix)), (dir) => Effect.sync(() => removeDir(dir)))

/**
 * An `openclaw.json` for tests: loopback, port 0, the token file at `<dir>/gateway.token`, a mock
 * model without delays, no grace period at shutdown; `patch` is merged on top.
 */
export const testConfig = (dir: string, patch: Json = {}): Json =>
  mergeJson({
    gateway: { port: 0, bind: "127.0.0.1", shutdownGraceMs: 0, auth: { tokenFile: path.join(dir, "gateway.token") } },
    models: { providers: { mock: { firstTokenDelayMs: 0, tokenDelayMs: 0 } } }
  }, patch)

/** Writes `<dir>/<name>` as pretty JSON and returns its path. */
export const writeJsonFile = (dir: string, name: string, value: Json): string => {
  const file = path.join(dir, name)
  fs.writeFileSync(file, JSON.stringify(value, null, 2))
  return file
}

export interface TestGateway {
  readonly dir: string
  readonly configFile: string
  readonly tokenFile: string
  /** The generated token ("" when the config names its tokens). */
  readonly token: string
  readonly port: number
  readonly url: string
  /** The gateway's own session tokens service (the same instance its handlers use), to revoke sessions. */
  readonly sessions: SessionTokens
  /** The gateway's run supervisor, to see which runs are active. */
  readonly supervisor: RunSupervisor
}

/** The real gateway layers (config file, loader, supervisor, listener) in-process, stopped with the scope. */
export const startInProcessGateway = (patch: Json = {}) =>
  Effect.gen(function*() {
    const dir = yield* scopedTempDir("openclaw-gateway-")
    const configFile = writeJsonFile(dir, "openclaw.json", testConfig(dir, patch))
    const config = configLayer({ config: Option.some(configFile), port: Option.none(), bind: Option.none() })
    // Layers are memoised by reference: this SessionTokens is the one GatewayServer depends on.
    const context = yield* Layer.build(Layer.merge(GatewayLive, SessionTokens.Default).pipe(Layer.provide(config))).pipe(
      withGatewayScheduler
    )
    const server = yield* Effect.provide(GatewayServer, context)
    const tokenFile = path.join(dir, "gateway.token")
    const gateway: TestGateway = {
      dir,
      configFile,
      tokenFile,
      token: fs.existsSync(tokenFile) ? fs.readFileSync(tokenFile, "utf8").trim() : "",
      port: server.address.port,
      url: `ws://127.0.0.1:${server.address.port}`,
      sessions: yield* Effect.provide(SessionTokens, context),
      supervisor: yield* Effect.provide(RunSupervisor, context)
    }
    return gateway
  })

/** A loopback port with nothing listening on it (bound, then closed). */
export const unusedPort = (): Promise<number> =>
  import("node:net").then((net) =>
    new Promise<number>((resolve, reject) => {
      const server = net.createServer()
      server.once("error", reject)
      server.listen(0, "127.0.0.1", () => {
        const address = server.address()
        const port = typeof address === "object" && address !== null ? address.port : 0
        server.close(() => resolve(port))
      })
    })
  )

/** A gateway for the duration of a describe block (its scope is closed in afterAll). */
export const useGateway = (patch: Parameters<typeof startInProcessGateway>[0]) => {
  const state: { gateway?: TestGateway; stop?: () => Promise<void> } = {}
  beforeAll(async () => {
    let release: () => void = () => undefined
    const released = new Promise<void>((resolve) => {
      release = resolve
    })
    const started = new Promise<TestGateway>((resolve, reject) => {
      Effect.runPromise(
        Effect.scoped(
          Effect.flatMap(startInProcessGateway(patch), (gateway) =>
            Effect.zipRight(Effect.sync(() => resolve(gateway)), Effect.promise(() => released)))
        )
      ).catch(reject)
    })
    state.gateway = await started
    state.stop = async () => release()
  })
  afterAll(() => state.stop?.())
  return () => {
    if (state.gateway === undefined) throw new Error("gateway not started")
    return state.gateway
  }
}
