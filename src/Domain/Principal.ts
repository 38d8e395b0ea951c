/**
 * Who is calling: the named credential a connection presented on the upgrade, and the scopes that
 * credential grants. Scopes come only from the gateway's config, never from anything a client sends.
 */
import { Schema } from "effect"

/** What a credential may do: start and cancel runs, read the gateway's status, or everything. */
export const Scope = Schema.Literal("runs:write", "runs:read", "admin")
export type Scope = typeof Scope.Type

export const AllScopes: ReadonlyArray<Scope> = ["runs:write", "runs:read", "admin"]

export class Principal extends Schema.Class<Principal>("openclaw/Principal")({
  /** The credential's name: "default" for `gateway.auth.token`, else its `gateway.auth.tokens[].name`. */
  name: Schema.String,
  scopes: Schema.Array(Scope)
}) {}

/** `admin` grants every scope. */
export const hasScope = (principal: Principal, scope: Scope): boolean =>
  principal.scopes.includes("admin") || principal.scopes.includes(scope)
