/**
 * Typed refusals of a single request by message authentication (`Unauthorized`) or by the caller's
 * scopes (`Forbidden`). Either fails that request only: the connection and its other streams go on.
 */
import { Schema } from "effect"
import { Scope } from "./Principal.js"

/** Why a message's session token was refused. */
export const UnauthorizedReason = Schema.Literal(
  /** No `authorization: Bearer <jwt>` header in the message. */
  "missing",
  /** Not a compact JWS, or claims of the wrong shape. */
  "malformed",
  /** Any algorithm other than HS256 (`none`, RS256, HS512, ...). */
  "algorithm",
  "signature",
  "expired",
  "notYetValid",
  /** Issued by another gateway, or by this one before a restart. */
  "otherGateway",
  /** Issued to another connection (`sid`). */
  "otherConnection",
  /** Issued to another principal (`sub`). */
  "otherPrincipal",
  "revoked"
)
export type UnauthorizedReason = typeof UnauthorizedReason.Type

const explanations: Record<UnauthorizedReason, string> = {
  missing: "the message carries no session token: send [\"authorization\", \"Bearer <sessionToken>\"] in its headers",
  malformed: "the session token is not a valid JWT",
  algorithm: "the session token's algorithm is not HS256",
  signature: "the session token's signature is invalid",
  expired: "the session token has expired: call Connect for a new one",
  notYetValid: "the session token is not valid yet",
  otherGateway: "the session token was issued by another gateway (or before a restart): call Connect",
  otherConnection: "the session token belongs to another connection",
  otherPrincipal: "the session token belongs to another principal",
  revoked: "the session token has been revoked: call Connect for a new one"
}

export class Unauthorized extends Schema.TaggedError<Unauthorized>()("Unauthorized", {
  reason: UnauthorizedReason
}) {
  override get message() {
    return `unauthorized: ${explanations[this.reason]}`
  }
}

export class Forbidden extends Schema.TaggedError<Forbidden>()("Forbidden", {
  principal: Schema.String,
  /** The scope the request needs and the principal lacks. */
  scope: Scope
}) {
  override get message() {
    return `forbidden: ${this.principal} lacks the scope ${this.scope}`
  }
}
