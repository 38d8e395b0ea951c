/**
 * The gateway's recent log entries, in memory and bounded (`logging.ringSize`): what `openclaw gateway logs` reads
 * and follows. Appending never waits for readers: a follower too slow to keep up sees a gap in `seq` (the entries
 * the ring dropped meanwhile) rather than holding the gateway back.
 */
import { Chunk, Context, Effect, Layer, Option, Stream } from "effect"
import { GatewayConfig } from "../Config/GatewayConfig.js"
import type { LogEntry, LogLevelName, TailLogsRequest } from "../Domain/LogEntry.js"

const severity: Record<LogLevelName, number> = { trace: 0, debug: 1, info: 2, warning: 3, error: 4, fatal: 5 }

export const atLeast = (level: LogLevelName, threshold: LogLevelName): boolean => severity[level] >= severity[threshold]

export interface LogRingService {
  /** The `seq` the next entry gets. */
  readonly nextSeq: () => number
  readonly append: (entry: LogEntry) => void
  /** The matching entries the ring holds, then, with `follow`, every new matching one until the stream stops. */
  readonly tail: (request: TailLogsRequest) => Stream.Stream<LogEntry>
}

export class LogRing extends Context.Tag("openclaw/LogRing")<LogRing, LogRingService>() {}

export const make = (capacity: number): LogRingService => {
  const slots: Array<LogEntry | undefined> = new Array(capacity)
  let next = 0
  const waiters = new Set<() => void>()

  /** Entries from `from` on that the ring still holds (older ones were overwritten). */
  const from = (seq: number): Array<LogEntry> => {
    const out: Array<LogEntry> = []
    for (let i = Math.max(seq, next - capacity); i < next; i++) {
      const entry = slots[i % capacity]
      if (entry !== undefined) out.push(entry)
    }
    return out
  }

  /** Resumes with the entries from `seq` on as soon as there is at least one. */
  const await_ = (seq: number) =>
    Effect.async<Array<LogEntry>>((resume) => {
      if (next > seq) return resume(Effect.sync(() => from(seq)))
      const wake = () => {
        waiters.delete(wake)
        resume(Effect.sync(() => from(seq)))
      }
      waiters.add(wake)
      return Effect.sync(() => void waiters.delete(wake))
    })

  const tail = (request: TailLogsRequest): Stream.Stream<LogEntry> =>
    Stream.suspend(() => {
      const matches = (entry: LogEntry) =>
        atLeast(entry.level, request.level) &&
        (request.since === undefined || entry.at >= request.since) &&
        (request.runId === undefined || entry.runId === request.runId)
      const start = next
      const recent = from(0).filter(matches)
      const initial = Stream.fromIterable(request.limit === undefined ? recent : recent.slice(-request.limit))
      if (!request.follow) return initial
      const later = Stream.unfoldChunkEffect(start, (cursor) =>
        Effect.map(await_(cursor), (entries) => {
          const last = entries.at(-1)
          return Option.some([Chunk.fromIterable(entries.filter(matches)), last === undefined ? cursor : last.seq + 1])
        }))
      return Stream.concat(initial, later)
    })

  return {
    nextSeq: () => next,
    append: (entry) => {
      slots[next % capacity] = entry
      next++
      for (const wake of [...waiters]) wake()
    },
    tail
  }
}

export const layer: Layer.Layer<LogRing, never, GatewayConfig> = Layer.effect(
  LogRing,
  Effect.map(GatewayConfig, ({ config }) => make(config.logging.ringSize))
)
