/**
 * Message authentication as an RPC middleware contract, client-safe: every RPC but `Connect` must carry
 * the session JWT from `Connect` in its own headers (`authorization: Bearer <jwt>`), and may require a
 * scope (`RequiredScope` annotation). The server implementation is `Auth/SessionAuthLive`.
 */
import * as RpcMiddleware from "@effect/rpc/RpcMiddleware"
import { Context, Schema } from "effect"
import { Forbidden, Unauthorized } from "../Domain/AuthError.js"
import type { Principal, Scope } from "../Domain/Principal.js"

/** The authenticated caller of the current request, provided by `SessionAuth`. */
export class CurrentPrincipal extends Context.Tag("openclaw/CurrentPrincipal")<CurrentPrincipal, Principal>() {}

/** Annotation of an `Rpc`: the scope its caller needs (`admin` grants all). */
export class RequiredScope extends Context.Tag("openclaw/RequiredScope")<RequiredScope, Scope>() {}

export class SessionAuth extends RpcMiddleware.Tag<SessionAuth>()("openclaw/SessionAuth", {
  provides: CurrentPrincipal,
  failure: Schema.Union(Unauthorized, Forbidden)
}) {}
