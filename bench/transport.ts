/**
 * HTTP versus WebSocket on our own gateway (issue 6): one gateway in its own child process with the mock LLM, driven
 * over (a) HTTP request/response with a new connection per run, (b) HTTP keep-alive + SSE and (c) the WebSocket,
 * interleaved at each concurrency step. Reports added latency (measured minus the mock's configured delays), bytes
 * on the wire per token event, the highest concurrency held, and the gateway's CPU per 1,000 tokens and event-loop
 * delay; then runs the thread-pool bench (bench/pool.ts) as a child step and includes its rows. For reference, the
 * WebSocket client also drives two servers with the same frames and pacing and nothing else
 * (bench/reference-server.ts): a bare `ws` server, what this machine, Node and the load generator leave for any
 * server, and the same with an Effect fiber per run, what they leave for an Effect server. Every loop is bounded in
 * count and time; loopback only.
 *
 *   npm run bench -- [--quick] [--steps=50,100,...] [--first-token-ms=100] [--token-ms=20] [--tokens=20]
 *                    [--bound-ms=50] [--segment-ms=N] [--warmup-ms=N] [--ws-streams=10] [--token-flush-ms=0]
 *                    [--name=transport]
 *                    [--no-pool] [--only=<transport name part>] [--gateway-node-args="--cpu-prof ..."]
 *                    [--gateway-entry=FILE]
 */
import * as Prompt from "@effect/ai/Prompt"
import type * as Response from "@effect/ai/Response"
import { Effect } from "effect"
import * as childProcess from "node:child_process"
import * as fs from "node:fs"
import * as os from "node:os"
import * as path from "node:path"
import { monitorEventLoopDelay, performance } from "node:perf_hooks"
import { fileURLToPath, pathToFileURL } from "node:url"
import { GatewayConfig } from "../src/Config/GatewayConfig.js"
import * as MockLanguageModel from "../src/Llm/MockLanguageModel.js"
import type { ProbeSample } from "./gateway-probe.js"
import {
  httpKeepAliveSse,
  httpNewConnection,
  type RunOutcome,
  type Session,
  type Target,
  type Transport,
  webSocket
} from "./transport-clients.js"

const argv = process.argv.slice(2)
const flag = (name: string) => argv.includes(`--${name}`)
const option = (name: string) => argv.find((arg) => arg.startsWith(`--${name}=`))?.slice(name.length + 3)
const numberOption = (name: string, fallback: number) => {
  const value = option(name)
  return value === undefined ? fallback : Number(value)
}

const quick = flag("quick")
const firstTokenDelayMs = numberOption("first-token-ms", 100)
const tokenDelayMs = numberOption("token-ms", 20)
const tokenCount = numberOption("tokens", 20)
/** The stated bound of the concurrency row: p99 added time to first token. */
const boundMs = numberOption("bound-ms", 50)
const segmentMs = numberOption("segment-ms", quick ? 2_500 : 6_000)
/**
 * Warm-up at the reference step before anything is recorded, shared by the transports (and as much per reference
 * server as one transport gets): V8 goes on compiling the gateway's code for many seconds of load. Measured one
 * segment after another at 100 runs from a cold start, at 2.5 s each: 0.26, 0.20, 0.19, 0.18 CPU s per 1,000 tokens
 * and 5.3, 2.5, 2.6, 2.2 ms p50 to the first token; TurboFan was a quarter of the gateway's CPU in the first one. And
 * it goes on: quick runs at 87b6314 with 9, 21 and 30 s of warm-up measured the WebSocket at 0.114, 0.095 and 0.081
 * CPU s per 1,000 tokens and 1.28, 0.95 and 0.80 ms p50 to the first token (HTTP and SSE likewise), the references
 * alike. A gateway runs for days: what it does warm is what it does. 21 s keeps a quick run within two minutes.
 */
const warmupMs = numberOption("warmup-ms", quick ? 21_000 : 45_000)
const streamsPerConnection = numberOption("ws-streams", 10)
/** The gateway's `runs.tokenFlushMs`; absent means the gateway's default. */
const tokenFlushMs = option("token-flush-ms") === undefined ? undefined : numberOption("token-flush-ms", 0)
/** Step 1 is the floor: what the gateway adds to one run on an otherwise idle machine. */
const steps = (option("steps") ?? (quick ? "1,100,1000" : "1,50,100,200,500,1000,2000")).split(",").map(Number)
/** The step whose latency and CPU fill the summary table (the issue's target is stated at 100). */
const referenceStep = steps.includes(100) ? 100 : steps[0] ?? 100
const runTimeoutMs = quick ? 8_000 : 20_000
const maxRunsPerUser = 1_000
const name = option("name") ?? (quick ? "transport-quick" : "transport")

const compiledDir = path.dirname(fileURLToPath(import.meta.url))
const benchDir = path.resolve(compiledDir, "../../../../bench")
const repoDir = path.resolve(benchDir, "..")

/** The Node flags `npm start` gives the gateway (package.json `config.gatewayNodeFlags`), so it runs as users run it. */
const startFlags = (): ReadonlyArray<string> => {
  const manifest: unknown = JSON.parse(fs.readFileSync(path.join(repoDir, "package.json"), "utf8"))
  const flags = typeof manifest === "object" && manifest !== null && "config" in manifest &&
      typeof manifest.config === "object" && manifest.config !== null && "gatewayNodeFlags" in manifest.config
    ? manifest.config.gatewayNodeFlags
    : ""
  return String(flags).split(" ").filter((arg) => arg !== "")
}
/** The gateway's Node flags: npm start's, then any extra (e.g. `--gateway-node-args=--cpu-prof`). */
const gatewayNodeArgs = [
  ...startFlags(),
  ...(option("gateway-node-args") ?? "").split(" ").filter((arg) => arg !== "")
]

/** Ordinary English words, a few bytes each like LLM tokens; the i-th token is words[i mod n] plus a space. */
const words = ["the", "gateway", "streams", "each", "token", "to", "its", "client", "as", "soon", "it", "comes"]
const reply = Array.from({ length: tokenCount }, (_, i) => words[i % words.length]).join(" ")
const bytesPerToken = Buffer.byteLength(reply) / tokenCount
const expectedFirstMs = firstTokenDelayMs
const expectedLastMs = firstTokenDelayMs + (tokenCount - 1) * tokenDelayMs
const expectedRunMs = expectedLastMs

const percentile = (values: ReadonlyArray<number>, q: number) => {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * q))] ?? Number.NaN
}
const jsLoopMs = () => {
  const began = performance.now()
  let sum = 0
  for (let i = 0; i < 1e8; i++) sum += i
  // `sum` is read so that the loop cannot be optimised away.
  return round(performance.now() - began + (sum < 0 ? 1 : 0), 0)
}
const round = (value: number, digits = 2) => Number.isFinite(value) ? Number(value.toFixed(digits)) : null
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

// ---------------------------------------------------------------------------------------------------------------
// The mock alone: what its own timers add (setTimeout fires at or after its delay), measured in this process on the
// raw parts the gateway's agents read (Agents/ModelTurn), not through @effect/ai's `streamText`, whose per-call
// schema building would be counted as timer delay.

const mockBaseline = async (concurrency: number) => {
  const mock = GatewayConfig.fromInput({
    models: { providers: { mock: { firstTokenDelayMs, tokenDelayMs, reply } } }
  }).config.models.providers.mock
  const prompt = Prompt.make("bench")
  const parts = (onParts: (parts: ReadonlyArray<Response.StreamPartEncoded>) => Effect.Effect<void>) =>
    Effect.useSpan("bench", (span) =>
      MockLanguageModel.pushParts(
        mock,
        { prompt, tools: [], toolChoice: "auto", responseFormat: { type: "text" }, span },
        onParts
      ))
  const first: Array<number> = []
  const last: Array<number> = []
  let tokens = 0
  const one = async (record: boolean) => {
    const start = performance.now()
    let seen = 0
    await Effect.runPromise(
      parts((batch) =>
        Effect.sync(() => {
          for (const part of batch) {
            if (part.type !== "text-delta") continue
            tokens++
            if (!record) continue
            if (seen++ === 0) first.push(performance.now() - start - expectedFirstMs)
            if (seen === tokenCount) last.push(performance.now() - start - expectedLastMs)
          }
        }))
    )
  }
  const cpuBefore = process.cpuUsage()
  // Like a segment: `concurrency` lanes running back to back; each lane's first run (all starting at once) is not
  // counted, so what is measured is the steady state, not the burst of the start.
  const until = performance.now() + 4 * expectedRunMs
  await Promise.all(Array.from({ length: concurrency }, async () => {
    await one(false)
    while (performance.now() < until) await one(true)
  }))
  const cpu = process.cpuUsage(cpuBefore)
  return {
    concurrency,
    // The mock's own CPU per 1,000 tokens at this load, a share of what the gateway's CPU column counts.
    cpuSecondsPer1kTokens: round((cpu.user + cpu.system) / 1e6 / (tokens / 1000)),
    ttftAddedP50Ms: round(percentile(first, 0.5)),
    ttftAddedP99Ms: round(percentile(first, 0.99)),
    ttltAddedP50Ms: round(percentile(last, 0.5)),
    ttltAddedP99Ms: round(percentile(last, 0.99))
  }
}

// ---------------------------------------------------------------------------------------------------------------
// The gateway, in its own process with the probe preloaded; stopped at exit whatever happens.

interface Gateway {
  readonly port: number
  readonly pid: number
  readonly sample: () => Promise<ProbeSample>
  readonly stop: () => Promise<void>
}

const isProbeSample = (message: unknown): message is ProbeSample =>
  typeof message === "object" && message !== null && "cpuUserUs" in message

/** The server under test: the gateway (`--gateway-entry` to run another build), or another entry, e.g. the bare one. */
const gatewayEntry = path.resolve(option("gateway-entry") ?? path.join(repoDir, "dist/main.js"))

const startGateway = async (token: string, entry: string = gatewayEntry): Promise<Gateway> => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "openclaw-bench-"))
  const configFile = path.join(dir, "openclaw.json")
  fs.writeFileSync(
    configFile,
    JSON.stringify({
      gateway: { port: 0, bind: "127.0.0.1", auth: { token }, shutdownGraceMs: 1000 },
      security: {
        websocket: {
          maxConnections: 100_000,
          maxConnectionsPerPrincipal: 100_000,
          maxStreamsPerConnection: 10_000,
          maxMessagesPerSecond: 1_000_000,
          heartbeatInterval: 60_000
        }
      },
      quotas: { maxConcurrentRuns: 100_000, runsPerMinute: 1_000_000 },
      ...(tokenFlushMs === undefined ? {} : { runs: { tokenFlushMs } }),
      models: { default: "mock/mock-1", providers: { mock: { firstTokenDelayMs, tokenDelayMs, reply } } }
    })
  )
  const child = childProcess.spawn(
    process.execPath,
    [
      ...gatewayNodeArgs,
      "--import",
      pathToFileURL(path.join(compiledDir, "gateway-probe.js")).href,
      entry
    ],
    { cwd: dir, env: { ...process.env, OPENCLAW_CONFIG: configFile }, stdio: ["ignore", "pipe", "pipe", "ipc"] }
  )
  const kill = () => child.kill("SIGKILL")
  process.once("exit", kill)
  let output = ""
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`gateway did not start within 20 s:\n${output}`)), 20_000)
    const onData = (data: Buffer) => {
      // Always drained, so the gateway never blocks on a full pipe; only the start is kept.
      if (output.length < 20_000) output += data.toString()
      const match = /listening on ws:\/\/127\.0\.0\.1:(\d+)/.exec(output)
      if (match !== null) {
        clearTimeout(timer)
        resolve(Number(match[1]))
      }
    }
    child.stdout?.on("data", onData)
    child.stderr?.on("data", onData)
    child.once("exit", (code) => reject(new Error(`gateway exited (${code}) at start:\n${output}`)))
  })
  let queue = Promise.resolve()
  const sample = () => {
    const next = queue.then(() =>
      new Promise<ProbeSample>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error("the gateway's probe did not answer")), 30_000)
        child.once("message", (message) => {
          clearTimeout(timer)
          if (isProbeSample(message)) resolve(message)
          else reject(new Error(`unexpected probe message ${JSON.stringify(message)}`))
        })
        child.send("sample")
      })
    )
    queue = next.then(() => undefined, () => undefined)
    return next
  }
  const stop = async () => {
    if (child.exitCode !== null) return
    const exited = new Promise((resolve) => child.once("exit", resolve))
    child.kill("SIGTERM")
    const timer = setTimeout(kill, 5_000)
    await exited
    clearTimeout(timer)
    process.off("exit", kill)
    fs.rmSync(dir, { recursive: true, force: true })
  }
  return { port, pid: child.pid ?? -1, sample, stop }
}

// ---------------------------------------------------------------------------------------------------------------
// One segment: one transport at one concurrency for about `segmentMs`.

interface SegmentResult {
  readonly transport: string
  readonly concurrency: number
  readonly wallMs: number
  readonly runs: number
  readonly errors: Record<string, number>
  readonly tokensPerSecond: number
  readonly ttftAddedP50Ms: number | null
  readonly ttftAddedP99Ms: number | null
  /** To the run's first event (RunStarted, sent before the agent starts), p50 / p99: the gateway's request path. */
  readonly firstEventP50Ms: number | null
  readonly firstEventP99Ms: number | null
  readonly ttltAddedP50Ms: number | null
  readonly ttltAddedP99Ms: number | null
  /** Tokens per `TokenDelta` event (1: the gateway sends one event per provider delta). */
  readonly tokensPerEvent: number | null
  readonly bytesDownPerTokenEvent: number | null
  readonly textBytesPerTokenEvent: number | null
  /** Share of the downstream bytes that is not token text. */
  readonly overheadPercent: number | null
  readonly bytesUpPerRun: number | null
  readonly gatewayCpuSecondsPer1000Tokens: number | null
  readonly gatewayCpuPercent: number | null
  readonly eventLoopDelayP99Ms: number | null
  readonly eventLoopDelayMaxMs: number | null
  readonly gatewayRssMb: number | null
  /**
   * The load generator's own CPU (% of one core) and event-loop delay p99: it shares the cores with the gateway, and
   * its timestamps are late by its own delay, so a busy load generator shows as latency the gateway did not add.
   */
  readonly loadGeneratorCpuPercent: number | null
  readonly loadGeneratorLoopDelayP99Ms: number | null
}

/** The load generator's event-loop delay, sampled as the gateway's probe samples the gateway's. */
const clientLoopDelay = monitorEventLoopDelay({ resolution: 1 })
clientLoopDelay.enable()

interface ClientSample {
  readonly cpuUs: number
  readonly loopDelayP99Ms: number
}

const runSegment = async (
  gateway: Gateway,
  target: Target,
  transport: Transport,
  concurrency: number,
  durationMs: number
): Promise<SegmentResult> => {
  let session: Session
  const outcomes: Array<RunOutcome> = []
  try {
    session = await transport.open(target, concurrency, runTimeoutMs)
  } catch (error) {
    outcomes.push({ error: `open: ${String(error)}`, ttftMs: NaN, ttltMs: NaN, firstEventMs: NaN, tokenEvents: 0, textBytes: 0 })
    return summarise(transport, concurrency, outcomes, 1, { down: 0, up: 0 }, undefined, undefined, undefined)
  }
  const before = await gateway.sample()
  const clientCpu = process.cpuUsage()
  clientLoopDelay.reset()
  const start = performance.now()
  const deadline = start + durationMs
  await Promise.all(Array.from({ length: concurrency }, async (_, user) => {
    // Staggered over one run's length, so the step measures steady load rather than one burst of connections.
    await sleep((user / concurrency) * expectedRunMs)
    for (let i = 0; i < maxRunsPerUser && performance.now() < deadline; i++) {
      outcomes.push(await session.run(user).catch((error): RunOutcome => ({
        error: String(error),
        ttftMs: NaN,
        ttltMs: NaN,
        firstEventMs: NaN,
        tokenEvents: 0,
        textBytes: 0
      })))
    }
  }))
  const wallMs = performance.now() - start
  const used = process.cpuUsage(clientCpu)
  const client = { cpuUs: used.user + used.system, loopDelayP99Ms: clientLoopDelay.percentile(99) / 1e6 }
  const after = await gateway.sample()
  const bytes = session.bytes()
  await session.close()
  return summarise(transport, concurrency, outcomes, wallMs, bytes, before, after, client)
}

const summarise = (
  transport: Transport,
  concurrency: number,
  outcomes: ReadonlyArray<RunOutcome>,
  wallMs: number,
  bytes: { readonly down: number; readonly up: number },
  before: ProbeSample | undefined,
  after: ProbeSample | undefined,
  client: ClientSample | undefined
): SegmentResult => {
  const ok = outcomes.filter((outcome) => outcome.error === undefined)
  const errors: Record<string, number> = {}
  for (const outcome of outcomes) {
    if (outcome.error !== undefined) errors[outcome.error] = (errors[outcome.error] ?? 0) + 1
  }
  const events = outcomes.reduce((sum, outcome) => sum + outcome.tokenEvents, 0)
  const textBytes = outcomes.reduce((sum, outcome) => sum + outcome.textBytes, 0)
  // The mock's tokens delivered, counted by their text (a gateway that joined deltas would send fewer events).
  const tokens = textBytes / bytesPerToken
  const cpuSeconds = before === undefined || after === undefined
    ? Number.NaN
    : (after.cpuUserUs + after.cpuSystemUs - before.cpuUserUs - before.cpuSystemUs) / 1e6
  const ttft = ok.map((outcome) => outcome.ttftMs - expectedFirstMs)
  const ttlt = ok.map((outcome) => outcome.ttltMs - expectedLastMs)
  return {
    transport: transport.name,
    concurrency,
    wallMs: Math.round(wallMs),
    runs: outcomes.length,
    errors,
    tokensPerSecond: Math.round(tokens / (wallMs / 1000)),
    ttftAddedP50Ms: round(percentile(ttft, 0.5)),
    ttftAddedP99Ms: round(percentile(ttft, 0.99)),
    firstEventP50Ms: round(percentile(ok.map((outcome) => outcome.firstEventMs), 0.5)),
    firstEventP99Ms: round(percentile(ok.map((outcome) => outcome.firstEventMs), 0.99)),
    ttltAddedP50Ms: round(percentile(ttlt, 0.5)),
    ttltAddedP99Ms: round(percentile(ttlt, 0.99)),
    tokensPerEvent: round(tokens / events, 2),
    bytesDownPerTokenEvent: round(bytes.down / events, 1),
    textBytesPerTokenEvent: round(textBytes / events, 1),
    overheadPercent: round(100 * (1 - textBytes / bytes.down), 1),
    bytesUpPerRun: round(bytes.up / outcomes.length, 0),
    gatewayCpuSecondsPer1000Tokens: round(cpuSeconds / (tokens / 1000), 4),
    gatewayCpuPercent: round(100 * cpuSeconds / (wallMs / 1000), 0),
    eventLoopDelayP99Ms: round(after?.eventLoopDelayP99Ms ?? NaN),
    eventLoopDelayMaxMs: round(after?.eventLoopDelayMaxMs ?? NaN),
    gatewayRssMb: round((after?.rssBytes ?? NaN) / 2 ** 20, 0),
    loadGeneratorCpuPercent: round(100 * (client?.cpuUs ?? NaN) / 1e6 / (wallMs / 1000), 0),
    loadGeneratorLoopDelayP99Ms: round(client?.loopDelayP99Ms ?? NaN)
  }
}

const errorCount = (segment: SegmentResult) => Object.values(segment.errors).reduce((sum, count) => sum + count, 0)
const withinBound = (segment: SegmentResult) =>
  errorCount(segment) === 0 && segment.ttftAddedP99Ms !== null && segment.ttftAddedP99Ms <= boundMs

// ---------------------------------------------------------------------------------------------------------------
// The thread pool: bench/pool.ts as a child step (its own process), its rows read from the JSON it writes.

interface PoolRow {
  readonly name: string
  readonly p50Ms: number
  readonly p99Ms: number
  readonly opsPerSecond: number
}

const runPoolBench = (): { readonly rows: ReadonlyArray<PoolRow>; readonly error?: string } => {
  const result = childProcess.spawnSync(
    process.execPath,
    [path.join(compiledDir, "pool.js"), ...(quick ? ["--quick"] : [])],
    { cwd: repoDir, stdio: ["ignore", "inherit", "inherit"], timeout: quick ? 120_000 : 600_000 }
  )
  if (result.status !== 0) return { rows: [], error: `pool bench exited with ${result.status ?? result.signal}` }
  const file = path.join(benchDir, "results", quick ? "pool-quick.json" : "pool.json")
  const parsed: { readonly summary?: ReadonlyArray<PoolRow> } = JSON.parse(fs.readFileSync(file, "utf8"))
  const rows = (parsed.summary ?? []).map(
    ({ name, opsPerSecond, p50Ms, p99Ms }) => ({ name, p50Ms, p99Ms, opsPerSecond }))
  return { rows }
}

// ---------------------------------------------------------------------------------------------------------------

const fmt = (value: number | null, unit = "") => value === null ? "—" : `${value}${unit}`

/** A reference server's segments: one run at a time, and at the reference step. */
interface Reference {
  readonly floor: SegmentResult
  readonly reference: SegmentResult
}
interface References {
  readonly bare: Reference
  readonly effect: Reference
}

const referenceCell = ({ floor, reference }: Reference) =>
  `${fmt(reference.ttftAddedP50Ms)} / ${fmt(reference.ttftAddedP99Ms)} ms added to the first token at ` +
  `${reference.concurrency} runs (one run at a time: ${fmt(floor.ttftAddedP50Ms)} / ` +
  `${fmt(floor.ttftAddedP99Ms)} ms), ` +
  `${fmt(reference.gatewayCpuSecondsPer1000Tokens)} CPU s per 1,000 tokens ` +
  `(${fmt(reference.gatewayCpuPercent, "%")} of a core)`

const markdown = (
  results: ReadonlyArray<SegmentResult>,
  transports: ReadonlyArray<Transport>,
  machine: Record<string, unknown>,
  baseline: Awaited<ReturnType<typeof mockBaseline>>,
  references: References | undefined,
  pool: ReturnType<typeof runPoolBench> | undefined
) => {
  const at = (transport: Transport, step: number) =>
    results.find((segment) => segment.transport === transport.name && segment.concurrency === step)
  const held = (transport: Transport, ok: (segment: SegmentResult) => boolean) => {
    let best = 0
    for (const step of steps) {
      const segment = at(transport, step)
      if (segment === undefined || !ok(segment)) break
      best = step
    }
    return best
  }
  const cells = (cell: (transport: Transport) => string) => transports.map(cell).join(" | ")
  const ref = (transport: Transport) => at(transport, referenceStep)
  const lines = [
    `Gateway with the mock LLM (first token after ${firstTokenDelayMs} ms, then one every ${tokenDelayMs} ms, ` +
    `${tokenCount} tokens per run), ${machine["cores"]} cores (${machine["cpu"]}), Node ${machine["node"]}; the load ` +
    `generator and the gateway share these cores. Latency and CPU rows at ${referenceStep} concurrent runs.`,
    "",
    `| | ${cells((transport) => transport.name)} | seed's claim (HTTP → WS) |`,
    `|---|${transports.map(() => "---").join("|")}|---|`,
    `| added time to first token, p50 / p99 (ms)¹ | ${
      cells((t) => `${fmt(ref(t)?.ttftAddedP50Ms ?? null)} / ${fmt(ref(t)?.ttftAddedP99Ms ?? null)}`)
    } | request latency 850 → 320 ms |`,
    ...(steps.includes(1) && referenceStep !== 1
      ? [
        `| the same with 1 run at a time (the floor), p50 / p99 (ms) | ${
          cells((t) => `${fmt(at(t, 1)?.ttftAddedP50Ms ?? null)} / ${fmt(at(t, 1)?.ttftAddedP99Ms ?? null)}`)
        } | |`
      ]
      : []),
    `| added time to last token, p50 / p99 (ms) | ${
      cells((t) => `${fmt(ref(t)?.ttltAddedP50Ms ?? null)} / ${fmt(ref(t)?.ttltAddedP99Ms ?? null)}`)
    } | |`,
    `| bytes on the wire per token event (token text bytes) | ${
      cells((t) => `${fmt(ref(t)?.bytesDownPerTokenEvent ?? null)} (${fmt(ref(t)?.textBytesPerTokenEvent ?? null)})`)
    } | |`,
    `| transport overhead (share of bytes that is not token text) | ${
      cells((t) => fmt(ref(t)?.overheadPercent ?? null, "%"))
    } | 15% → 3% |`,
    `| most concurrent runs with p99 added TTFT ≤ ${boundMs} ms and no errors² | ${
      cells((t) => String(held(t, withinBound)))
    } | 50 → 200 |`,
    `| most concurrent runs without errors² | ${cells((t) => String(held(t, (s) => errorCount(s) === 0)))} | |`,
    `| gateway CPU s per 1,000 tokens | ${cells((t) => fmt(ref(t)?.gatewayCpuSecondsPer1000Tokens ?? null))} | |`,
    `| gateway CPU (% of one core) / event-loop delay p99 (ms) | ${
      cells((t) => `${fmt(ref(t)?.gatewayCpuPercent ?? null, "%")} / ${fmt(ref(t)?.eventLoopDelayP99Ms ?? null)}`)
    } | CPU 78% → 45% |`,
    "",
    `¹ Measured minus the mock's configured delays. HTTP request/response has no token before the whole answer: its ` +
    `"first token" is the answer. The mock's own timers add ${baseline.ttftAddedP50Ms} / ` +
    `${baseline.ttftAddedP99Ms} ms (p50/p99) to the first token and ${baseline.ttltAddedP50Ms} / ` +
    `${baseline.ttltAddedP99Ms} ms to the last when run alone in-process at ${baseline.concurrency} concurrent runs, ` +
    `and use ${baseline.cpuSecondsPer1kTokens} CPU s per 1,000 tokens (part of the gateway's CPU column); that ` +
    `share is not the transport's.`,
    `² Steps ${steps.join(", ")}, each about ${segmentMs / 1000} s per transport, stopping at the first step that ` +
    `fails; the three transports interleaved per step.`,
    ...(references === undefined ? [] : [
      `³ For reference, the WebSocket client against a bare \`ws\` server with the same frames and pacing ` +
      `(bench/bare-ws-server.ts: no Effect, no RPC server, no authentication, no schemas): ` +
      `${referenceCell(references.bare)}: what this machine, Node and the load generator leave for any server.`,
      `⁴ And against the same server with each run a fiber on Effect's runtime, paced by \`Effect.sleep\` on the ` +
      `gateway's scheduler (bench/effect-ws-server.ts): ${referenceCell(references.effect)}: the least a server with ` +
      `an Effect fiber per run spends here.`
    ]),
    "",
    "Every step:",
    "",
    "| transport | runs at once | runs | errors | tokens/s | TTFT+ p50/p99 | TTLT+ p50/p99 | B/token | " +
    "CPU s/1k tok | CPU % | loop delay p99/max | RSS MB | load generator CPU % / loop delay p99 |",
    "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ...results.map((s) =>
      `| ${s.transport} | ${s.concurrency} | ${s.runs} | ${
        errorCount(s) === 0 ? 0 : Object.entries(s.errors).map(([kind, count]) => `${kind}: ${count}`).join(", ")
      } | ${s.tokensPerSecond} | ${fmt(s.ttftAddedP50Ms)} / ${fmt(s.ttftAddedP99Ms)} | ${fmt(s.ttltAddedP50Ms)} / ${
        fmt(s.ttltAddedP99Ms)
      } | ${fmt(s.bytesDownPerTokenEvent)} | ${fmt(s.gatewayCpuSecondsPer1000Tokens)} | ${
        fmt(s.gatewayCpuPercent)
      } | ${fmt(s.eventLoopDelayP99Ms)} / ${fmt(s.eventLoopDelayMaxMs)} | ${fmt(s.gatewayRssMb)} | ${
        fmt(s.loadGeneratorCpuPercent)
      } / ${fmt(s.loadGeneratorLoopDelayP99Ms)} |`
    )
  ]
  if (pool !== undefined) {
    lines.push(
      "",
      "Thread pool (bench/pool.ts, tiny task, warm threads):",
      "",
      "| | dispatch p50 (ms) | p99 (ms) | tasks/s |",
      "|---|---|---|---|",
      ...pool.rows.map((row) =>
        `| ${row.name} | ${round(row.p50Ms, 3)} | ${round(row.p99Ms, 3)} | ${Math.round(row.opsPerSecond)} |`
      ),
      ...(pool.error === undefined ? [] : [`pool bench failed: ${pool.error}`])
    )
  }
  return lines.join("\n")
}

/**
 * The same WebSocket client against a reference server (`reference-server.ts`), one run at a time and at the
 * reference step: the latency and CPU that any server (or any Effect server) gets here, to read the gateway's rows
 * against.
 */
const referenceServer = async (token: string, transport: Transport, entry: string) => {
  const server = await startGateway(token, path.join(compiledDir, entry))
  try {
    const target: Target = { host: "127.0.0.1", port: server.port, token, spec: { prompt: "bench" } }
    await runSegment(server, target, transport, referenceStep, warmupMs / 3)
    const floor = await runSegment(server, target, transport, 1, segmentMs)
    const reference = await runSegment(server, target, transport, referenceStep, segmentMs)
    return { floor, reference }
  } finally {
    await server.stop()
  }
}

const main = async () => {
  const token = `bench-${Math.random().toString(36).slice(2)}`
  /** `--only=<text>`: only the transports whose name contains it (for profiling one path). */
  const only = option("only")
  const transports = [httpNewConnection, httpKeepAliveSse, webSocket(streamsPerConnection)].filter((transport) =>
    only === undefined || transport.name.includes(only)
  )
  const machine = {
    cores: os.availableParallelism(),
    cpu: os.cpus()[0]?.model.trim() ?? "unknown",
    node: process.version,
    platform: `${os.type()} ${os.release()}`,
    loadGeneratorSharesCores: true,
    /** Other processes compete for the cores too: the 1-minute load average when the run started. */
    loadAverageAtStart: round(os.loadavg()[0] ?? NaN),
    /** Plain JavaScript speed, to compare machines: ms for 10^8 additions in a loop. */
    jsLoopMs: jsLoopMs()
  }
  const began = performance.now()
  console.log(`transport bench (${quick ? "quick" : "full"}): steps ${steps.join(", ")}; ${segmentMs} ms per segment`)
  const baseline = await mockBaseline(referenceStep)
  console.log(`mock alone: ${JSON.stringify(baseline)}`)
  const gateway = await startGateway(token)
  const results: Array<SegmentResult> = []
  try {
    const target: Target = {
      host: "127.0.0.1",
      port: gateway.port,
      token,
      spec: { agent: "codex", mode: "inline", prompt: "bench" }
    }
    // Warm-up (JIT, pools of objects), not recorded: the transports in turns of about a second.
    const turns = Math.max(1, Math.round(warmupMs / 1_000 / transports.length))
    for (let turn = 0; turn < turns; turn++) {
      for (const transport of transports) {
        await runSegment(gateway, target, transport, referenceStep, warmupMs / transports.length / turns)
      }
    }
    const stopped = new Set<string>()
    for (const [index, step] of steps.entries()) {
      // Interleaved: each step starts with a different transport.
      const order = transports.map((_, i) => transports[(i + index) % transports.length]).filter(
        (transport): transport is Transport => transport !== undefined && !stopped.has(transport.name)
      )
      for (const transport of order) {
        const segment = await runSegment(gateway, target, transport, step, segmentMs)
        results.push(segment)
        console.log(JSON.stringify(segment))
        if (errorCount(segment) > 0) stopped.add(transport.name)
        await sleep(500)
      }
      if (order.length === 0) break
    }
  } finally {
    await gateway.stop()
  }
  const wsTransport = transports.find((transport) => transport.name.startsWith("WebSocket"))
  const references: References | undefined = wsTransport === undefined ? undefined : {
    bare: await referenceServer(token, wsTransport, "bare-ws-server.js"),
    effect: await referenceServer(token, wsTransport, "effect-ws-server.js")
  }
  if (references !== undefined) console.log(`reference servers: ${JSON.stringify(references)}`)
  const transportSeconds = Math.round((performance.now() - began) / 1000)
  const pool = flag("no-pool") ? undefined : runPoolBench()
  const table = markdown(results, transports, machine, baseline, references, pool)
  const resultsDir = path.join(benchDir, "results")
  fs.mkdirSync(resultsDir, { recursive: true })
  const file = path.join(resultsDir, `${name}.json`)
  fs.writeFileSync(
    file,
    JSON.stringify(
      {
        at: new Date().toISOString(),
        command: `npm run bench${argv.length === 0 ? "" : ` -- ${argv.join(" ")}`}`,
        machine,
        settings: {
          firstTokenDelayMs,
          tokenDelayMs,
          tokenCount,
          boundMs,
          segmentMs,
          warmupMs,
          steps,
          referenceStep,
          streamsPerConnection,
          runTimeoutMs,
          tokenFlushMs: tokenFlushMs ?? "default",
          gatewayNodeArgs
        },
        transportSeconds,
        mockAlone: baseline,
        bareServer: references?.bare ?? null,
        effectServer: references?.effect ?? null,
        segments: results,
        pool: pool?.rows ?? null,
        table
      },
      null,
      2
    ) + "\n"
  )
  console.log(`\n${table}\n\nwritten ${path.relative(repoDir, file)} (transport part ${transportSeconds} s)`)
}

main().catch((error) => {
  console.error(error)
  process.exitCode = 1
})
