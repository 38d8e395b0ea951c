/**
 * Effect steps per run: how many operations Effect's runtime evaluates for one run over a real WebSocket, counted by
 * a supervisor with op supervision on (`Supervisor.onEffect`), the gateway built in this process on the mock model.
 * CPU time on this machine moves by ±30% from hour to hour; this count is the same from one invocation to the next
 * (one run at a time, the mock's pacing fixed), so a change to a run's path is measured by it exactly, before an
 * alternated CPU measurement says what it is worth. Counted: every fiber of the gateway (connection, request, run);
 * not the WebSocket client, which is plain `ws`. Not part of `npm run bench`. Every loop is bounded in count.
 *
 *   npm run build && tsc -p bench/tsconfig.json && node node_modules/.cache/openclaw-bench/bench/effect-steps.js \
 *     [--tokens=5] [--runs=200] [--mode=inline|thread-bound] [--by-op]
 */
import { Effect, Exit, Layer, Option, RuntimeFlags, RuntimeFlagsPatch, Supervisor } from "effect"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { GatewayLive, configLayer, withGatewayScheduler } from "../src/Gateway/GatewayMain.js"
import { GatewayServer } from "../src/Gateway/GatewayServer.js"
import { webSocket } from "./transport-clients.js"

const option = (name: string, fallback: number) => {
  const value = process.argv.find((arg) => arg.startsWith(`--${name}=`))?.slice(name.length + 3)
  return value === undefined ? fallback : Number(value)
}
const tokens = option("tokens", 5)
const runs = option("runs", 200)
/** `--mode=thread-bound`: the run on a pool thread; only the main thread's steps are counted (the pool's side). */
const mode = process.argv.includes("--mode=thread-bound") ? "thread-bound" : "inline"
/** `--by-op`: also the steps by kind (the op code, and the first characters of its continuation when it has one). */
const byOp = process.argv.includes("--by-op")
const warmRuns = 50

/** Counts the steps of every fiber it supervises while `counting`. */
class StepCounter extends Supervisor.AbstractSupervisor<void> {
  counting = false
  steps = 0
  fibers = 0
  readonly kinds = new Map<string, number>()
  get value() {
    return Effect.void
  }
  override onStart() {
    if (this.counting) this.fibers++
  }
  override onEffect(_fiber: unknown, effect: unknown) {
    if (!this.counting) return
    this.steps++
    if (byOp) {
      const kind = kindOf(effect)
      this.kinds.set(kind, (this.kinds.get(kind) ?? 0) + 1)
    }
  }
}

/** An op's code and, for a continuation or a thunk, the start of its source: enough to tell where it comes from. */
const kindOf = (effect: unknown): string => {
  if (typeof effect !== "object" || effect === null || !("_op" in effect)) return "?"
  const code = String(effect._op)
  // A `Commit` is `Effect.suspend` (its thunk is `commit`) or an Effect-like class (a Deferred, a Mailbox, an error).
  const body = "effect_instruction_i1" in effect && typeof effect.effect_instruction_i1 === "function"
    ? effect.effect_instruction_i1
    : "effect_instruction_i0" in effect && typeof effect.effect_instruction_i0 === "function"
    ? effect.effect_instruction_i0
    : code === "Commit" && "commit" in effect && typeof effect.commit === "function"
    ? effect.commit
    : undefined
  return body === undefined ? code : `${code} ${String(body).replace(/\s+/g, " ").slice(0, 90)}`
}

const words = ["the", "gateway", "streams", "each", "token"]
const reply = Array.from({ length: tokens }, (_, i) => words[i % words.length]).join(" ")
const token = "steps-".padEnd(40, "x")
const counter = new StepCounter()

const main = Effect.gen(function*() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "openclaw-steps-"))
  yield* Effect.addFinalizer(() => Effect.sync(() => fs.rmSync(dir, { recursive: true, force: true })))
  const configFile = path.join(dir, "openclaw.json")
  fs.writeFileSync(
    configFile,
    JSON.stringify({
      gateway: { port: 0, bind: "127.0.0.1", auth: { token } },
      logging: { level: "warning" },
      models: {
        default: "mock/mock-1",
        // Fixed pacing, one token per step of the mock: the count does not depend on how tokens happen to batch.
        providers: { mock: { firstTokenDelayMs: 2, tokenDelayMs: 2, reply } }
      }
    })
  )
  const config = configLayer({ config: Option.some(configFile), port: Option.none(), bind: Option.none() })
  const context = yield* Layer.build(GatewayLive.pipe(Layer.provide(config))).pipe(withGatewayScheduler)
  const server = yield* Effect.provide(GatewayServer, context)
  const session = yield* Effect.promise(() =>
    webSocket(1).open(
      { host: "127.0.0.1", port: server.address.port, token, spec: { prompt: "count me", mode } },
      1,
      10_000
    )
  )
  // One async loop per batch, so that the driving fiber's own steps do not grow with the runs.
  const batch = (count: number) =>
    Effect.promise(async () => {
      for (let i = 0; i < count; i++) {
        const outcome = await session.run(0)
        if (outcome.error !== undefined) throw new Error(`run failed: ${outcome.error}`)
      }
    })
  yield* batch(warmRuns)
  counter.counting = true
  yield* batch(runs)
  counter.counting = false
  yield* Effect.promise(() => session.close())
  console.log(
    `${tokens}-token ${mode} runs over the WebSocket, one at a time: ` +
      `${(counter.steps / runs).toFixed(1)} Effect steps and ${(counter.fibers / runs).toFixed(2)} fibers per run ` +
      `(${runs} runs)`
  )
  if (byOp) {
    for (const [kind, count] of [...counter.kinds].sort((a, b) => b[1] - a[1]).slice(0, 60)) {
      console.log(`${(count / runs).toFixed(1).padStart(7)}  ${kind}`)
    }
  }
}).pipe(
  Effect.scoped,
  (effect) => Effect.supervised(effect, counter),
  Effect.withRuntimeFlagsPatch(RuntimeFlagsPatch.enable(RuntimeFlags.OpSupervision))
)

Effect.runPromiseExit(main).then((exit) => {
  if (Exit.isFailure(exit)) {
    console.error(exit.cause)
    process.exitCode = 1
  }
  process.exit()
})
