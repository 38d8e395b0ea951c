/** Bearer tokens on the WebSocket upgrade: extraction from the request and constant-time comparison. */
import { Redacted } from "effect"
import * as crypto from "node:crypto"
import type * as http from "node:http"

/** Browsers cannot set headers on a WebSocket: they offer `["openclaw", "bearer.<token>"]` as subprotocols. */
export const SubprotocolName = "openclaw"
const subprotocolPrefix = "bearer."

export const generateToken = (): string => crypto.randomBytes(32).toString("base64url")

/** The token a client presented, from `Authorization: Bearer` or the `bearer.<token>` subprotocol. */
export const presentedToken = (headers: http.IncomingHttpHeaders): string | undefined => {
  const authorization = headers.authorization
  if (authorization !== undefined) {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization)
    return match?.[1]
  }
  const protocols = headers["sec-websocket-protocol"]
  if (protocols === undefined) return undefined
  for (const offered of protocols.split(",")) {
    const value = offered.trim()
    if (value.startsWith(subprotocolPrefix)) return value.slice(subprotocolPrefix.length)
  }
  return undefined
}

/** Compares digests so that neither the content nor the length of the token leaks through timing. */
export const tokenMatches = (presented: string, expected: Redacted.Redacted<string>): boolean => {
  const digest = (value: string) => crypto.createHash("sha256").update(value).digest()
  return crypto.timingSafeEqual(digest(presented), digest(Redacted.value(expected)))
}
