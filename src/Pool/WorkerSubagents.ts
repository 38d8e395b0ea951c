/**
 * `Subagents` inside a pool worker: a child run is asked of the main thread, which runs it on
 * another thread of the same pool (counted against the pool and the parent's principal's quotas)
 * and sends its events back. Interrupting the child's stream tells the main thread to stop it.
 */
import { Effect, Layer, Mailbox, Stream } from "effect"
import { Subagents } from "../Agents/Subagents.js"
import type { AgentEvent } from "../Domain/AgentEvent.js"
import type { RunError } from "../Domain/RunError.js"
import type { FromWorker, ToWorker } from "./WorkerProtocol.js"

export interface WorkerSubagents {
  readonly layer: Layer.Layer<Subagents>
  /** Feeds the main thread's `SubagentEvents` / `SubagentEnded` messages to the waiting child streams. */
  readonly receive: (message: Extract<ToWorker, { _tag: "SubagentEvents" | "SubagentEnded" }>) => Effect.Effect<void>
}

export const make = (post: (message: FromWorker) => void): WorkerSubagents => {
  const children = new Map<number, Mailbox.Mailbox<ReadonlyArray<AgentEvent>, RunError>>()
  let nextRequestId = 0

  const layer = Layer.succeed(Subagents, {
    spawn: (request) =>
      Stream.unwrapScoped(Effect.gen(function*() {
        const requestId = nextRequestId++
        const mailbox = yield* Mailbox.make<ReadonlyArray<AgentEvent>, RunError>()
        children.set(requestId, mailbox)
        yield* Effect.addFinalizer(() =>
          Effect.sync(() => {
            // Still registered means the child has not ended: the parent gave up on it.
            if (children.delete(requestId)) post({ _tag: "StopSubagent", requestId })
          })
        )
        post({
          _tag: "SpawnSubagent",
          requestId,
          parentRunId: request.parentRunId,
          depth: request.depth,
          prompt: request.prompt
        })
        return Mailbox.toStream(mailbox).pipe(Stream.flattenIterables)
      }))
  })

  const receive: WorkerSubagents["receive"] = (message) =>
    Effect.suspend(() => {
      const mailbox = children.get(message.requestId)
      if (mailbox === undefined) return Effect.void
      if (message._tag === "SubagentEvents") return Effect.asVoid(mailbox.offer(message.events))
      children.delete(message.requestId)
      return Effect.asVoid(message.error === undefined ? mailbox.end : mailbox.fail(message.error))
    })

  return { layer, receive }
}
