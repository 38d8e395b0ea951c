/** `parseMessage`: for any JSON a client may send, the same frames as the schema's decode, or the same refusal. */
import { describe, expect, it } from "@effect/vitest"
import { Arbitrary, Either, FastCheck, Schema } from "effect"
import { ClientFrame, parseMessage } from "../src/Gateway/ClientFrame.js"

const knownTags: ReadonlySet<string> = new Set(["StartRun", "Status"])
const decode = Schema.decodeUnknownEither(ClientFrame, { onExcessProperty: "error", errors: "first" })

const valid = Arbitrary.make(Schema.encodedBoundSchema(ClientFrame))
const key = FastCheck.constantFrom("_tag", "id", "tag", "payload", "headers", "traceId", "requestId", "sampled", "x")
/** Valid frames, the same with one key set to something else (or a key too many), and any JSON. */
const frame = FastCheck.oneof(
  valid,
  FastCheck.tuple(valid, key, FastCheck.jsonValue({ maxDepth: 2 })).map(([base, name, value]) => ({
    ...base,
    [name]: value
  })),
  FastCheck.jsonValue({ maxDepth: 3 })
)

describe("parseMessage", () => {
  it.prop(
    "accepts exactly what the schema decodes, as the decode builds it (defaults, nothing extra)",
    { value: frame },
    ({ value }) => {
      // Through JSON, as frames arrive, in a batch of one (a bare array would be a batch itself).
      const text = JSON.stringify([value])
      const input: unknown = JSON.parse(JSON.stringify(value))
      const [parsed] = parseMessage(text, knownTags)
      // The schema's decode throws on some hostile `_tag`s (see the next test): those are refused.
      const expected = Either.try(() => decode(input)).pipe(Either.flatMap((result) => result))
      if (Either.isLeft(expected)) {
        expect(parsed?._tag).toBe("Invalid")
        return
      }
      const frame = expected.right
      if (frame._tag === "Request" && !knownTags.has(frame.tag)) expect(parsed?._tag).toBe("Invalid")
      else expect(parsed).toStrictEqual({ _tag: "Valid", frame })
    },
    { fastCheck: { numRuns: 2_000 } }
  )

  it("fills a request's absent payload and headers, and keeps a null payload", () => {
    expect(parseMessage(JSON.stringify({ _tag: "Request", id: "1", tag: "Status" }), knownTags)).toStrictEqual([
      { _tag: "Valid", frame: { _tag: "Request", id: "1", tag: "Status", payload: {}, headers: [] } }
    ])
    expect(parseMessage(JSON.stringify({ _tag: "Request", id: "1", tag: "Status", payload: null }), knownTags))
      .toStrictEqual([{ _tag: "Valid", frame: { _tag: "Request", id: "1", tag: "Status", payload: null, headers: [] } }])
    expect(parseMessage(JSON.stringify({ _tag: "Ack", requestId: "1", extra: true }), knownTags)[0]?._tag).toBe("Invalid")
  })

  it("refuses a frame whose _tag is an object the schema's union cannot look up, instead of throwing", () => {
    expect(parseMessage(JSON.stringify({ _tag: { toString: false }, requestId: "0" }), knownTags)).toStrictEqual([
      { _tag: "Invalid", requestId: undefined, message: expect.stringContaining("expected") }
    ])
  })
})
