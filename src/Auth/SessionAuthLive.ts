/**
 * The server side of `SessionAuth`: authenticates each message by the session JWT in its OWN headers
 * (our WebSocket protocol never merges the upgrade's headers into them), binds it to the connection it
 * arrived on and that connection's principal, then checks the RPC's `RequiredScope` against the scopes
 * of the credential presented at the upgrade. A refusal fails that request only.
 */
import * as Headers from "@effect/platform/Headers"
import { Context, Effect, Option } from "effect"
import { GatewayConfig } from "../Config/GatewayConfig.js"
import { Forbidden, Unauthorized } from "../Domain/AuthError.js"
import { hasScope, type Scope } from "../Domain/Principal.js"
import { RpcWebSocket } from "../Gateway/RpcWebSocket.js"
import { RequiredScope, SessionAuth } from "../Rpc/SessionAuth.js"
import { SessionTokens } from "./SessionTokens.js"

/** `Bearer <jwt>` (case-insensitive scheme), nothing else. */
const bearer = (value: string): string | undefined => /^Bearer\s+(\S+)\s*$/i.exec(value)?.[1]

/**
 * Authenticates a message of connection `clientId` by its headers and checks the `required` scope: the principal,
 * or why not. What `SessionAuth` runs for the RPC server, and `Gateway/StartRunStream` for the requests it serves.
 */
export const makeAuthorize = Effect.gen(function*() {
  const { config } = yield* GatewayConfig
  const sessions = yield* SessionTokens
  const sockets = yield* RpcWebSocket
  const authenticates = config.security.websocket.enabled

  return Effect.fnUntraced(function*(clientId: number, headers: Headers.Headers, required: Option.Option<Scope>) {
    const connection = sockets.connection(clientId)
    // The connection closed while its message was queued: nothing to answer anyway.
    if (connection === undefined) return yield* new Unauthorized({ reason: "otherConnection" })
    const principal = connection.principal
    if (authenticates) {
      const token = Option.flatMapNullable(Headers.get(headers, "authorization"), bearer)
      if (Option.isNone(token)) return yield* new Unauthorized({ reason: "missing" })
      yield* sessions.verify(token.value, { sid: String(clientId), sub: principal.name })
    }
    if (Option.isSome(required) && !hasScope(principal, required.value)) {
      return yield* new Forbidden({ principal: principal.name, scope: required.value })
    }
    return principal
  })
})

export const make = Effect.map(makeAuthorize, (authorize) =>
  SessionAuth.of(({ clientId, headers, rpc }) =>
    authorize(clientId, headers, Context.getOption(rpc.annotations, RequiredScope))
  ))
