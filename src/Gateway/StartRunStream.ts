/**
 * `StartRun` over the WebSocket, served by the gateway itself rather than by @effect/rpc's server: the run writes its
 * events to the client's socket (`SocketRunStream`), where the RPC server's generic stream loop took them from a
 * mailbox in a fiber of its own, woken per Chunk, and encoded them in an Effect per Chunk. The protocol is the same:
 * the same frames, the same schemas, the same middleware (`SessionAuth`), the same span name; a Chunk waits for the
 * client's Ack of the one before (or the socket, with `?ack=auto`), and an Interrupt frame or the close interrupts the
 * request, whose scope holds the run and its quota slot.
 */
import * as Headers from "@effect/platform/Headers"
import { Context, Effect, Exit, ParseResult, Schema, Tracer } from "effect"
import { RunSupervisor } from "../Agents/RunSupervisor.js"
import * as SessionAuthLive from "../Auth/SessionAuthLive.js"
import { GatewayConfig } from "../Config/GatewayConfig.js"
import { RunError } from "../Domain/RunError.js"
import { decodeStartRun } from "../Domain/RunSpec.js"
import { Quota } from "../Quota/Quota.js"
import { StartRunRpc } from "../Rpc/GatewayRpcs.js"
import { RequiredScope, SessionAuth } from "../Rpc/SessionAuth.js"
import type { DirectHandler } from "./RpcWebSocket.js"
import * as SocketRunStream from "./SocketRunStream.js"

/** `Rpc.exitSchema(StartRunRpc)` spelled out: its type leaves out the middleware's failures, its value does not. */
const encodeExit = Schema.encodeSync(Schema.Exit({
  success: Schema.Void,
  failure: Schema.Union(RunError, SessionAuth.failure),
  defect: StartRunRpc.defectSchema
}))

/** A completed run's Exit, encoded once: most runs end with it. */
const completedFrame = encodeExit(Exit.void)

/** The request's Exit as the RPC server would encode it; a failure to encode it is answered as a defect. */
const exitFrame = (exit: Parameters<typeof encodeExit>[0]) => {
  if (Exit.isSuccess(exit)) return completedFrame
  try {
    return encodeExit(exit)
  } catch (error) {
    return encodeExit(Exit.die(`cannot encode the run's end: ${String(error)}`))
  }
}

export const make = Effect.gen(function*() {
  const { config } = yield* GatewayConfig
  const supervisor = yield* RunSupervisor
  const quota = yield* Quota
  const authorize = yield* SessionAuthLive.makeAuthorize
  const requiredScope = Context.getOption(StartRunRpc.annotations, RequiredScope)

  const handler: DirectHandler = ({ clientId, request, sendChunk, sendExit }) => {
    const stream = SocketRunStream.make({
      capacity: config.runs.eventBuffer,
      budgetBytes: config.runs.eventBufferBytes,
      // The events go out as they are: every field of an `AgentEvent` encodes to itself, so an event's JSON is its
      // encoding's (a property test holds every event type to it). `Schema.encode` re-checked each event the supervisor
      // had just built, ~2.5 µs per token on this machine.
      send: sendChunk
    })
    // The request's span is made here and ended with its Exit frame, and its scope is handed to what it holds (the
    // quota slot, the run): `withSpan` and `Effect.scoped` around the request would also have put them in the fiber's
    // context, a fiber-ref update and restore each per run, for one child span and two holders.
    const serve = (span: Tracer.Span) =>
      Effect.scopedWith((scope) =>
        Effect.gen(function*() {
          const decoded = decodeStartRun(request.payload)
          if (decoded._tag === "Left") return yield* Effect.die(ParseResult.TreeFormatter.formatErrorSync(decoded.left))
          const principal = yield* authorize(clientId, Headers.fromInput(request.headers), requiredScope)
          yield* quota.admitIn(scope, principal.name)
          yield* supervisor.startIn(scope, decoded.right, stream, { principal: principal.name, parentSpan: span })
          // The quota slot and the run are held by this scope until the run's last event is on its way.
          yield* stream.outcome
        })
      )
    const requestSpan = Effect.makeSpan("RpcServer.StartRun", {
      captureStackTrace: false,
      attributes: { requestId: request.id },
      ...(request.traceId === undefined || request.spanId === undefined ? {} : {
        parent: Tracer.externalSpan({
          traceId: request.traceId,
          spanId: request.spanId,
          sampled: request.sampled ?? true
        })
      })
    })
    return Effect.flatMap(requestSpan, (span) =>
      Effect.onExit(serve(span), (exit) =>
        Effect.clockWith((clock) =>
          Effect.sync(() => {
            sendExit(exitFrame(exit))
            span.end(clock.unsafeCurrentTimeNanos(), exit)
          })
        ))).pipe(
        // The Exit frame carries the outcome to the client; the fiber itself ends quietly.
        Effect.ignore
      )
  }
  return handler
})
