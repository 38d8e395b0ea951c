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
import { hasScope } from "../Domain/Principal.js"
import { RpcWebSocket } from "../Gateway/RpcWebSocket.js"
import { RequiredScope, SessionAuth } from "../Rpc/SessionAuth.js"
import { SessionTokens } from "./SessionTokens.js"

/** `Bearer <jwt>` (case-insensitive scheme), nothing else. */
const bearer = (value: string): string | undefined => /^Bearer\s+(\S+)\s*$/i.exec(value)?.[1]

export const make = Effect.gen(function*() {
  const { config } = yield* GatewayConfig
  const sessions = yield* SessionTokens
  const sockets = yield* RpcWebSocket
  const authenticates = config.security.websocket.enabled

  return SessionAuth.of(Effect.fnUntraced(function*({ clientId, headers, rpc }) {
    const connection = sockets.connection(clientId)
    // The connection closed while its message was queued: nothing to answer anyway.
    if (connection === undefined) return yield* new Unauthorized({ reason: "otherConnection" })
    const principal = connection.principal
    if (authenticates) {
      const token = Option.flatMapNullable(Headers.get(headers, "authorization"), bearer)
      if (Option.isNone(token)) return yield* new Unauthorized({ reason: "missing" })
      yield* sessions.verify(token.value, { sid: String(clientId), sub: principal.name })
    }
    const scope = Context.getOption(rpc.annotations, RequiredScope)
    if (Option.isSome(scope) && !hasScope(principal, scope.value)) {
      return yield* new Forbidden({ principal: principal.name, scope: scope.value })
    }
    return principal
  }))
})
