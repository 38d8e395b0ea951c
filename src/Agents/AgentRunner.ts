/**
 * The seam between the supervisor and where an agent executes: the inline runner (main-thread fibers) or the
 * worker-thread pool (thread-bound runs). A runner hands over the outputs of ONE run, not yet numbered.
 */
import { type Chunk, Context, Effect, Mailbox, Stream } from "effect"
import type { KnownAgent } from "../Config/ConfigSchema.js"
import type { RunId } from "../Domain/Ids.js"
import type { RunError } from "../Domain/RunError.js"
import type { StartRun } from "../Domain/RunSpec.js"
import type { ResolvedModel } from "../Llm/ProviderRegistry.js"
import type { AgentOutput } from "./AgentOutput.js"
import * as RunEventBuffer from "./RunEventBuffer.js"

/** One accepted run. A thread pool sends `model.id` to its worker, which resolves its own provider. */
export interface AgentJob {
  readonly runId: RunId
  /** The agent to run, already defaulted and checked against `acp.allowedAgents`. */
  readonly agent: KnownAgent
  readonly spec: StartRun
  readonly model: ResolvedModel
  /** How deep in a chain of subagents this run is; absent for a client's run (depth 0). */
  readonly depth?: number
  /** Who started the run (the quota key); a subagent is counted against its parent's principal. */
  readonly principal?: string
  /** The span the run's work belongs to, when it runs on another thread (which links its own spans to it). */
  readonly trace?: TraceParent
}

/** A span of the main thread that a worker thread's spans name as their parent. */
export interface TraceParent {
  readonly traceId: string
  readonly spanId: string
}

/**
 * Where a runner hands a run's outputs, in order, a batch at a time. The runner waits for it (backpressure); `false`
 * means no more are wanted (the consumer has `RunCompleted`), and the runner then ends.
 */
export type EmitOutputs = (outputs: Chunk.Chunk<AgentOutput>) => Effect.Effect<boolean>

export interface AgentRunnerService {
  /**
   * Runs the job, handing its outputs to `emit`: optionally `RunQueued`, then `RunStarted`, the agent's work and
   * `RunCompleted` last; ends with the run, or fails with its error. A push, not a Stream: on the thread-bound path
   * a Stream between the pool and the supervisor cost ten times the pool's own main-thread work per run.
   * Interrupting it stops the run and releases whatever it holds (processes, threads).
   */
  readonly execute: (job: AgentJob, emit: EmitOutputs) => Effect.Effect<void, RunError>
}

export class AgentRunner extends Context.Tag("openclaw/AgentRunner")<AgentRunner, AgentRunnerService>() {}

/**
 * A pushed run as a Stream, for callers that want one (a subagent's tool, the pool's `submit`): the run fills a small
 * mailbox that the stream reads, each waiting for the other. The supervisor does not take this path: a Stream per run
 * costs more main-thread CPU than the pool's own work.
 */
export const outputStream = <E, R>(
  run: (emit: EmitOutputs) => Effect.Effect<void, E, R>
): Stream.Stream<AgentOutput, E, R> =>
  Stream.unwrapScoped(Effect.gen(function*() {
    const mailbox = yield* Mailbox.make<AgentOutput, E>({ capacity: 16 })
    yield* run((outputs) => Effect.as(mailbox.offerAll(outputs), true)).pipe(Mailbox.into(mailbox), Effect.forkScoped)
    return RunEventBuffer.toStream(mailbox)
  }))
