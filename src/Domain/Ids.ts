/** Branded identifiers that cross the wire. */
import { Schema } from "effect"

/** A run's id: a random UUID chosen by the gateway when the run is accepted. */
export const RunId = Schema.String.pipe(Schema.minLength(1), Schema.maxLength(64), Schema.brand("openclaw/RunId"))
export type RunId = typeof RunId.Type

/** A WebSocket connection's id, unique within one gateway process. */
export const ConnectionId = Schema.String.pipe(Schema.brand("openclaw/ConnectionId"))
export type ConnectionId = typeof ConnectionId.Type

/** Agent names are free strings on the wire: unknown or disallowed names fail with `AgentNotAllowed`. */
export const AgentName = Schema.String.pipe(Schema.minLength(1), Schema.maxLength(64))

/** Where a run executes: its own worker thread, or a fiber on the gateway's main thread. */
export const RunMode = Schema.Literal("thread-bound", "inline")
export type RunMode = typeof RunMode.Type
