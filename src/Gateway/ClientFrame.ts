/**
 * What a client may send over the WebSocket, checked before @effect/rpc sees it: the RPC server
 * trusts its input (a missing `headers` or a non-numeric `id` made it hang or crash in a spike), so
 * every frame is validated here and bad ones get a precise answer instead.
 */
import { Either, ParseResult, Schema } from "effect"
import type { FromClientEncoded } from "@effect/rpc/RpcMessage"
import { compiledIs } from "../Domain/CompiledIs.js"
import { decodeUntrusted } from "../Domain/UntrustedDecode.js"

/** @effect/rpc turns ids into BigInt: only decimal integers are valid. */
export const RequestId = Schema.String.pipe(Schema.pattern(/^(0|[1-9][0-9]{0,19})$/)).annotations({
  description: "a decimal integer string, e.g. \"1\""
})

const Header = Schema.mutable(Schema.Tuple(
  Schema.String.pipe(Schema.minLength(1), Schema.maxLength(256)),
  Schema.String.pipe(Schema.maxLength(16_384))
))

const RequestFrame = Schema.Struct({
  _tag: Schema.Literal("Request"),
  id: RequestId,
  tag: Schema.String.pipe(Schema.maxLength(128)),
  payload: Schema.optionalWith(Schema.Unknown, { default: () => ({}), exact: true }),
  headers: Schema.optionalWith(Schema.Array(Header).pipe(Schema.maxItems(64)), { default: () => [], exact: true }),
  traceId: Schema.optionalWith(Schema.String.pipe(Schema.maxLength(64)), { exact: true }),
  spanId: Schema.optionalWith(Schema.String.pipe(Schema.maxLength(64)), { exact: true }),
  sampled: Schema.optionalWith(Schema.Boolean, { exact: true })
})

const frames = [
  RequestFrame,
  Schema.Struct({ _tag: Schema.Literal("Ack"), requestId: RequestId }),
  Schema.Struct({ _tag: Schema.Literal("Interrupt"), requestId: RequestId }),
  Schema.Struct({ _tag: Schema.Literal("Ping") }),
  Schema.Struct({ _tag: Schema.Literal("Eof") })
] as const

export const ClientFrame = Schema.Union(...frames)

/** Each frame's keys, by `_tag`: a key outside them is an error, as for the decode (`onExcessProperty: "error"`). */
const keysByTag = new Map(frames.map((frame) => [frame.fields._tag.literals[0], new Set(Object.keys(frame.fields))]))
const isEncodedFrame = compiledIs(Schema.encodedBoundSchema(ClientFrame))

/**
 * A valid frame as the decode builds it, checked by compiled predicates (`Domain/CompiledIs`) instead of the parser,
 * which was ~3% of the gateway's main thread at 100 runs; `undefined` for anything else (the decode then says why).
 */
const cheaply = (value: unknown): typeof ClientFrame.Type | undefined => {
  // A JSON object, as every parsed frame is.
  if (!isEncodedFrame(value) || Object.getPrototypeOf(value) !== Object.prototype) return undefined
  const keys = keysByTag.get(value._tag)
  for (const key of Object.keys(value)) if (keys?.has(key) !== true) return undefined
  if (value._tag !== "Request") return value
  // The decode's defaults for absent keys (a present payload is kept whatever it is, `null` included).
  return { ...value, payload: Object.hasOwn(value, "payload") ? value.payload : {}, headers: value.headers ?? [] }
}

/** Frames per WebSocket message when a client batches them in a JSON array. */
export const MaxBatch = 256

export type ParsedFrame =
  | { readonly _tag: "Valid"; readonly frame: FromClientEncoded }
  /** `requestId` is set when the bad frame was a request whose id could be read: only that request fails. */
  | { readonly _tag: "Invalid"; readonly requestId: string | undefined; readonly message: string }

const decodeFrame = decodeUntrusted(ClientFrame, { onExcessProperty: "error", errors: "first" })
const isRequestId = Schema.is(RequestId)

const describe = (error: ParseResult.ParseError): string => {
  const issue = ParseResult.ArrayFormatter.formatErrorSync(error)[0]
  if (issue === undefined) return "invalid frame"
  return issue.path.length === 0 ? issue.message : `${issue.path.join(".")}: ${issue.message}`
}

const expected = "expected {\"_tag\":\"Request\",\"id\":\"1\",\"tag\":\"Status\",\"payload\":{},\"headers\":[]}, " +
  "or an Ack, Interrupt, Ping or Eof frame"

const parseOne = (value: unknown, knownTags: ReadonlySet<string>): ParsedFrame => {
  const requestId = typeof value === "object" && value !== null && "_tag" in value && value._tag === "Request" &&
      "id" in value && isRequestId(value.id)
    ? value.id
    : undefined
  const cheap = cheaply(value)
  const decoded = cheap === undefined ? decodeFrame(value) : Either.right(cheap)
  if (decoded === undefined) return { _tag: "Invalid", requestId, message: expected }
  if (Either.isLeft(decoded)) {
    const tag = typeof value === "object" && value !== null && "_tag" in value ? value._tag : undefined
    const known = tag === "Request" || tag === "Ack" || tag === "Interrupt" || tag === "Ping" || tag === "Eof"
    const message = known ? `invalid ${String(tag)} frame: ${describe(decoded.left)}` : expected
    return { _tag: "Invalid", requestId, message }
  }
  const frame = decoded.right
  if (frame._tag === "Request" && !knownTags.has(frame.tag)) {
    return {
      _tag: "Invalid",
      requestId,
      message: `unknown RPC "${frame.tag}" (known: ${[...knownTags].join(", ")})`
    }
  }
  return { _tag: "Valid", frame }
}

/** Parses one text message: a frame, or a JSON array of frames. */
export const parseMessage = (text: string, knownTags: ReadonlySet<string>): ReadonlyArray<ParsedFrame> => {
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch (error) {
    return [{
      _tag: "Invalid",
      requestId: undefined,
      message: `malformed JSON: ${error instanceof Error ? error.message : String(error)}`
    }]
  }
  if (!Array.isArray(json)) return [parseOne(json, knownTags)]
  if (json.length > MaxBatch) {
    return [{ _tag: "Invalid", requestId: undefined, message: `batch of ${json.length} frames exceeds ${MaxBatch}` }]
  }
  return json.map((value: unknown) => parseOne(value, knownTags))
}
