/** `decodeStartRun`: the same result as `Schema.decodeUnknownEither(StartRun)` for anything a client may send. */
import { describe, expect, it } from "@effect/vitest"
import { Arbitrary, Either, FastCheck, ParseResult, Schema } from "effect"
import { decodeStartRun, MaxPromptLength, StartRun } from "../src/Domain/RunSpec.js"

const reference = Schema.decodeUnknownEither(StartRun)

const encoded = Arbitrary.make(Schema.encodedBoundSchema(StartRun))
const field = FastCheck.constantFrom("agent", "mode", "prompt", "command", "timeoutMs", "model", "extra")
const badValue = FastCheck.oneof(
  FastCheck.anything(),
  FastCheck.constantFrom(undefined, null, "", 0, -1, 1.5, "sideways", "x".repeat(65), "x".repeat(MaxPromptLength + 1))
)
/** Valid payloads, the same with one field replaced by something else, and anything at all. */
const payload = FastCheck.oneof(
  encoded,
  FastCheck.tuple(encoded, field, badValue).map(([valid, key, value]) => ({ ...valid, [key]: value })),
  FastCheck.anything()
)

const outcome = (result: Either.Either<StartRun, ParseResult.ParseError>) =>
  Either.match(result, {
    onLeft: (error) => ({ error: ParseResult.TreeFormatter.formatErrorSync(error) }),
    onRight: (spec) => ({ spec: { ...spec }, isStartRun: spec instanceof StartRun })
  })

describe("decodeStartRun", () => {
  it.prop(
    "agrees with the schema's decode: the same StartRun (defaults, no excess keys) or the same error",
    { input: payload },
    ({ input }) => {
      expect(outcome(decodeStartRun(input))).toStrictEqual(outcome(reference(input)))
    },
    { fastCheck: { numRuns: 2_000 } }
  )

  it("defaults the mode and drops what the schema does not know", () => {
    const decoded = decodeStartRun({ prompt: "hi", extra: 1 })
    expect(Either.isRight(decoded) && { ...decoded.right }).toStrictEqual({ mode: "thread-bound", prompt: "hi" })
    expect(Either.isLeft(decodeStartRun({ prompt: "hi", timeoutMs: 0 }))).toBe(true)
  })
})
