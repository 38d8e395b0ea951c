/**
 * One pool thread: a `node:worker_threads` Worker spawned with the heap limit, its messages decoded,
 * and what the main thread can observe without the worker's cooperation (event-loop utilisation,
 * exit code, out-of-memory error). Plain callbacks: the pool's driver turns them into events.
 */
import { Either, Predicate, Schema } from "effect"
import type { AgentOutput } from "../Agents/AgentOutput.js"
import { RunId } from "../Domain/Ids.js"
import { compiledIs } from "../Domain/CompiledIs.js"
import { decodeUntrusted } from "../Domain/UntrustedDecode.js"
import { checkedEvents } from "./WorkerEvents.js"
import type { EventLoopUtilization } from "node:perf_hooks"
import { Worker } from "node:worker_threads"
import { FromWorker, ToWorker, type WorkerInit } from "./WorkerProtocol.js"

export type WorkerExit =
  | { readonly _tag: "OutOfMemory" }
  | { readonly _tag: "Exited"; readonly code: number; readonly error: string | undefined }

/**
 * A worker's message as the pool takes it: a batch's events are outputs (the consumer numbers them into events), not
 * the protocol's event classes, which the main thread would build only to have them built again.
 */
export type WorkerMessage =
  | Exclude<FromWorker, { readonly _tag: "Events" | "Completed" }>
  | WorkerBatch

export type WorkerBatch =
  | { readonly _tag: "Events"; readonly runId: RunId; readonly events: ReadonlyArray<AgentOutput> }
  | { readonly _tag: "Completed"; readonly runId: RunId; readonly events: ReadonlyArray<AgentOutput> }

export interface WorkerThreadOptions {
  readonly script: URL
  readonly init: WorkerInit
  readonly heapMb: number
  readonly onMessage: (message: WorkerMessage) => void
  readonly onExit: (exit: WorkerExit) => void
}

export interface WorkerThread {
  readonly id: number
  readonly startedAt: number
  readonly post: (message: ToWorker) => void
  /** Active (non-idle) time of the worker's event loop since `since`, in ms: a CPU-time proxy that keeps growing in a busy loop. */
  readonly activeMsSince: (since: EventLoopUtilization) => number
  readonly utilization: () => EventLoopUtilization
  readonly terminate: () => void
  /** The worker's last reported heap use (0 before its first report). */
  readonly heapUsedBytes: () => number
}

const encode = Schema.encodeSync(ToWorker)

type RunMessage = Extract<ToWorker, { readonly _tag: "Run" }>

/**
 * A `Run` message in its JSON form without `Schema.encode`: every run starts with one, and encoding the `StartRun`
 * class (defaults merged, every field re-checked) was a third of the main thread's work per run in a profile. The
 * spec's fields need no transformation, so its own properties are its encoded form; the worker decodes in full.
 */
export const encodeRun = (message: RunMessage): Extract<typeof ToWorker.Encoded, { readonly _tag: "Run" }> => ({
  _tag: "Run",
  runId: message.runId,
  agent: message.agent,
  spec: { ...message.spec },
  model: message.model,
  depth: message.depth,
  ...(message.trace === undefined ? {} : { trace: { ...message.trace } })
})
const decode = decodeUntrusted(FromWorker)
/** `Schema.is(RunId)` compiled to plain predicates: every batch's run id is checked here. */
const isRunId = compiledIs(RunId)

/**
 * An `Events` or `Completed` message checked cheaply (`checkedEvents`), built without a full decode; undefined for any
 * other message and for one that fails the check (the caller decodes those in full). Extra properties are dropped, as
 * a decode drops them.
 */
export const checkedBatch = (raw: unknown): WorkerBatch | undefined => {
  if (!(Predicate.isTagged(raw, "Events") || Predicate.isTagged(raw, "Completed"))) return undefined
  if (!Predicate.hasProperty(raw, "runId") || !isRunId(raw.runId) || !Predicate.hasProperty(raw, "events")) {
    return undefined
  }
  const events = checkedEvents(raw.events)
  if (events === undefined) return undefined
  return raw._tag === "Events"
    ? { _tag: "Events", runId: raw.runId, events }
    : { _tag: "Completed", runId: raw.runId, events }
}

export const spawnWorkerThread = (options: WorkerThreadOptions): WorkerThread => {
  const worker = new Worker(options.script, {
    workerData: options.init,
    resourceLimits: { maxOldGenerationSizeMb: options.heapMb },
    stdout: false,
    stderr: false
  })
  let heapUsed = 0
  let outOfMemory = false
  let lastError: string | undefined
  worker.on("message", (raw: unknown) => {
    // Event batches (every token) and completions take the cheap check; anything else, or a message that fails it,
    // is decoded in full.
    const checked = checkedBatch(raw)
    if (checked !== undefined) return options.onMessage(checked)
    const message = decode(raw)
    // A message that does not decode is dropped: the worker can only speak the protocol.
    if (message === undefined || Either.isLeft(message)) return
    if (message.right._tag === "Health") heapUsed = message.right.heapUsedBytes
    options.onMessage(message.right)
  })
  worker.on("error", (error: Error & { readonly code?: string }) => {
    if (error.code === "ERR_WORKER_OUT_OF_MEMORY") outOfMemory = true
    lastError = error.message
  })
  worker.on("exit", (code) =>
    options.onExit(outOfMemory ? { _tag: "OutOfMemory" } : { _tag: "Exited", code, error: lastError })
  )
  return {
    id: options.init.threadId,
    startedAt: Date.now(),
    post: (message) => worker.postMessage(message._tag === "Run" ? encodeRun(message) : encode(message)),
    activeMsSince: (since) => worker.performance.eventLoopUtilization(since).active,
    utilization: () => worker.performance.eventLoopUtilization(),
    terminate: () => void worker.terminate(),
    heapUsedBytes: () => heapUsed
  }
}
