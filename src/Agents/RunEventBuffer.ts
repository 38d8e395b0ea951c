/**
 * A run's numbered events on their way to its client, bounded twice: in events (`runs.eventBuffer`, the mailbox's
 * capacity) and in bytes (`runs.eventBufferBytes`). One event can weigh megabytes (a command's output, a file a tool
 * read, the whole reply), so a count alone let a reader that stopped reading hold a thousand of them in the gateway's
 * memory. The run waits while its unread events weigh more than the budget, and goes on as the client reads: nothing
 * is dropped, the slow reader only slows its own run.
 */
import { type Chunk, Effect, Effectable, Inspectable, Mailbox, Option, Stream } from "effect"
import type { NoSuchElementException } from "effect/Cause"
import type { AgentEvent } from "../Domain/AgentEvent.js"
import type { RunError } from "../Domain/RunError.js"
import type { RunEventSink } from "./RunEventSink.js"

/** What an event's envelope (tag, run id, seq, time) counts for, beyond its text. */
const EnvelopeBytes = 96

const jsonLength = (value: unknown): number => {
  try {
    return JSON.stringify(value)?.length ?? 0
  } catch {
    return 0
  }
}

/** The bytes an event counts for: its text, or its JSON values, plus the envelope. */
export const weightOf = (event: AgentEvent): number => {
  switch (event._tag) {
    case "TokenDelta":
    case "CommandOutput":
    case "RunCompleted":
      return EnvelopeBytes + event.text.length
    case "ToolCalled":
      return EnvelopeBytes + jsonLength(event.params)
    case "ToolResult":
      return EnvelopeBytes + jsonLength(event.result)
    case "SubagentEvent":
      return EnvelopeBytes + weightOf(event.event)
    default:
      return EnvelopeBytes
  }
}

export interface RunEventBuffer extends RunEventSink {
  /** The client's side: every read lets the run go on. */
  readonly events: Mailbox.ReadonlyMailbox<AgentEvent, RunError>
  /**
   * Buffers what the mailbox has room for at once; the wait, if any, offers the rest as room comes, then waits while
   * the unread events weigh over the budget.
   */
  readonly offer: (events: ReadonlyArray<AgentEvent>) => Effect.Effect<void> | undefined
  readonly end: Effect.Effect<boolean>
  readonly fail: (error: RunError) => Effect.Effect<boolean>
}

/** The mailbox as its reader sees it, telling the buffer how many events were read. */
class ReadEvents extends Effectable.Class<readonly [Chunk.Chunk<AgentEvent>, boolean], RunError>
  implements Mailbox.ReadonlyMailbox<AgentEvent, RunError>
{
  readonly [Mailbox.ReadonlyTypeId]: Mailbox.ReadonlyTypeId = Mailbox.ReadonlyTypeId
  readonly takeAll: Effect.Effect<readonly [Chunk.Chunk<AgentEvent>, boolean], RunError>
  readonly clear: Effect.Effect<Chunk.Chunk<AgentEvent>, RunError>
  readonly take: Effect.Effect<AgentEvent, RunError | NoSuchElementException>
  readonly await: Effect.Effect<void, RunError>
  readonly size: Effect.Effect<Option.Option<number>>
  readonly unsafeSize: () => Option.Option<number>
  readonly takeN: (n: number) => Effect.Effect<readonly [Chunk.Chunk<AgentEvent>, boolean], RunError>

  constructor(mailbox: Mailbox.ReadonlyMailbox<AgentEvent, RunError>, read: (count: number) => void) {
    super()
    const readMany = <A extends readonly [Chunk.Chunk<AgentEvent>, boolean]>(taken: A) => {
      read(taken[0].length)
      return taken
    }
    this.takeAll = Effect.map(mailbox.takeAll, readMany)
    this.takeN = (n) => Effect.map(mailbox.takeN(n), readMany)
    this.clear = Effect.map(mailbox.clear, (events) => {
      read(events.length)
      return events
    })
    this.take = Effect.map(mailbox.take, (event) => {
      read(1)
      return event
    })
    this.await = mailbox.await
    this.size = mailbox.size
    this.unsafeSize = () => mailbox.unsafeSize()
  }

  commit() {
    return this.takeAll
  }

  toJSON() {
    return { _id: "RunEvents", size: this.unsafeSize() }
  }

  override toString() {
    return Inspectable.format(this.toJSON())
  }

  [Inspectable.NodeInspectSymbol]() {
    return this.toJSON()
  }
}

export const make = (options: { readonly capacity: number; readonly budgetBytes: number }) =>
  Effect.gen(function*() {
    const mailbox = yield* Mailbox.make<AgentEvent, RunError>({ capacity: options.capacity })
    /**
     * The weights of the events offered and not yet read, from `head` on, oldest first (reads take the oldest), and
     * their sum. A moving head, not `shift`: with a large `runs.eventBuffer` each shift would copy the array.
     */
    let weights: Array<number> = []
    let head = 0
    let unread = 0
    const room = yield* Effect.makeLatch(true)
    const read = (count: number) => {
      for (let index = 0; index < count; index++) unread -= weights[head++] ?? 0
      if (head > 1024 && head * 2 > weights.length) {
        weights = weights.slice(head)
        head = 0
      }
      if (unread <= options.budgetBytes) room.unsafeOpen()
    }
    /** Waits while the unread events weigh over the budget (undefined: no need). */
    const overBudget = (): Effect.Effect<void> | undefined => {
      if (unread <= options.budgetBytes) return undefined
      room.unsafeClose()
      return room.await
    }
    const offer = (events: ReadonlyArray<AgentEvent>): Effect.Effect<void> | undefined => {
      for (const event of events) {
        const weight = weightOf(event)
        weights.push(weight)
        unread += weight
      }
      const rest = mailbox.unsafeOfferAll(events)
      if (rest.length === 0) return overBudget()
      return Effect.zipRight(mailbox.offerAll(rest), Effect.suspend(() => overBudget() ?? Effect.void))
    }
    return {
      events: new ReadEvents(mailbox, read),
      offer,
      end: mailbox.end,
      fail: (error: RunError) => mailbox.fail(error)
    } satisfies RunEventBuffer
  })

/**
 * A mailbox read as a Stream of one stage, each pull one `takeAll`, for the readers that want a Stream (HTTP, a
 * subagent's tool). In `bench/transport-costs.ts` a run of 20 tokens read through `Mailbox.toStream` cost ~1.5 ms more
 * CPU than read through this (and ~0.4 ms more than a plain `takeAll` loop, what the RPC server does). `taken`: what an
 * earlier `takeAll` already read (and whether that was the end), given out first.
 */
export const toStream = <A, E>(
  mailbox: Mailbox.ReadonlyMailbox<A, E>,
  taken?: readonly [Chunk.Chunk<A>, boolean]
): Stream.Stream<A, E> =>
  Stream.suspend(() => {
    let first = taken?.[0]
    let done = taken?.[1] ?? false
    return Stream.repeatEffectChunkOption(Effect.suspend(() => {
      if (first !== undefined) {
        const chunk = first
        first = undefined
        return Effect.succeed(chunk)
      }
      return done
        ? Effect.fail(Option.none())
        : Effect.mapBoth(mailbox.takeAll, {
          onFailure: Option.some,
          onSuccess: ([chunk, ended]) => {
            done = ended
            return chunk
          }
        })
    }))
  })

/**
 * Waits for a run's first events, then gives them and the rest as one Stream. Fails with the run's error if the run
 * failed before it sent anything (a run the pool refused at once): an HTTP reader chooses its status here, so such a
 * run is answered 429, not with a 200 stream whose only frame is the refusal.
 */
export const opened = (
  events: Mailbox.ReadonlyMailbox<AgentEvent, RunError>
): Effect.Effect<Stream.Stream<AgentEvent, RunError>, RunError> =>
  Effect.map(events.takeAll, (taken) => toStream(events, taken))
