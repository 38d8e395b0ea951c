/**
 * Generated hostile frames against a live gateway (bounded in count): random JSON, frames of the right tags with
 * wrong shapes, odd ids and headers, deep nesting, batches. After each batch the same connection must still answer
 * a well-formed request (the gateway neither closes it nor stops answering).
 */
import { FastCheck } from "effect"
import { describe, expect, it } from "vitest"
import WebSocket from "ws"
import { useGateway } from "./support/TestGateway.js"

type Json = Record<string, unknown>

const gateway = useGateway({ security: { websocket: { maxMessagesPerSecond: 100_000 } } })

const knownTags = ["Request", "Ack", "Interrupt", "Ping", "Connect"]

/** Frames that look like protocol messages but are wrong in one way or another. */
const hostileFrame: FastCheck.Arbitrary<unknown> = FastCheck.oneof(
  FastCheck.jsonValue({ maxDepth: 4 }),
  FastCheck.record({
    _tag: FastCheck.oneof(FastCheck.constantFrom(...knownTags), FastCheck.string({ maxLength: 8 })),
    id: FastCheck.oneof(FastCheck.string({ maxLength: 30 }), FastCheck.integer(), FastCheck.constant("99999999999999999999999")),
    requestId: FastCheck.oneof(FastCheck.string({ maxLength: 12 }), FastCheck.integer()),
    tag: FastCheck.oneof(FastCheck.constantFrom("Status", "StartRun", "CancelRun", "Nope"), FastCheck.string()),
    payload: FastCheck.jsonValue({ maxDepth: 3 }),
    headers: FastCheck.oneof(
      FastCheck.jsonValue({ maxDepth: 2 }),
      FastCheck.array(FastCheck.tuple(FastCheck.string({ maxLength: 10 }), FastCheck.string({ maxLength: 10 })), {
        maxLength: 4
      })
    )
  }, { requiredKeys: ["_tag"] }),
  // A `_tag` the schema's union decode threw on (it killed the connection's inbox).
  FastCheck.record({ _tag: FastCheck.constantFrom({ toString: false }, { valueOf: 1, toString: null }) }),
  // Deep nesting, which a naive recursive parser could choke on: sent as raw text (see `encode`).
  FastCheck.integer({ min: 100, max: 5000 }).map((depth) => new NestedText("[".repeat(depth) + "]".repeat(depth)))
)

/** A frame already written as text (too deep for this side's `JSON.stringify`). */
class NestedText {
  constructor(readonly text: string) {}
}

const encode = (frame: unknown): string => frame instanceof NestedText ? frame.text : JSON.stringify(frame)

describe("fuzzed frames", () => {
  it("every generated frame gets its defined answer and the connection keeps serving", async () => {
    const ws = new WebSocket(`ws://127.0.0.1:${gateway().port}/`, { headers: { authorization: `Bearer ${gateway().token}` } })
    const messages: Array<Json> = []
    let closedWith: number | undefined
    ws.on("message", (data) => {
      const parsed: unknown = JSON.parse(data.toString())
      if (typeof parsed === "object" && parsed !== null) messages.push(Object.fromEntries(Object.entries(parsed)))
    })
    ws.on("close", (code) => {
      closedWith = code
    })
    await new Promise<void>((resolve, reject) => {
      ws.once("open", () => resolve())
      ws.once("error", reject)
    })
    const next = async (predicate: (message: Json) => boolean) => {
      const deadline = Date.now() + 5000
      for (;;) {
        const index = messages.findIndex(predicate)
        if (index >= 0) return messages.splice(index, 1)[0] ?? {}
        if (Date.now() > deadline || closedWith !== undefined) {
          throw new Error(`no answer (closed: ${closedWith}); inbox: ${JSON.stringify(messages).slice(0, 500)}`)
        }
        await new Promise((done) => setTimeout(done, 2))
      }
    }
    ws.send(JSON.stringify({ _tag: "Request", id: "1", tag: "Connect", payload: {}, headers: [] }))
    const connected = await next((message) => message.requestId === "1")
    const value = Object(Object(connected.exit).value)
    const session = typeof value.sessionToken === "string" ? value.sessionToken : ""
    let probe = 1_000_000
    const batches = FastCheck.sample(FastCheck.array(hostileFrame, { minLength: 1, maxLength: 8 }), 60)
    for (const batch of batches) {
      for (const frame of batch) {
        // Eof ends the client's side of the protocol by design: not a hostile frame.
        if (typeof frame === "object" && frame !== null && "_tag" in frame && frame._tag === "Eof") continue
        ws.send(encode(frame))
      }
      const id = String(probe++)
      ws.send(JSON.stringify({
        _tag: "Request",
        id,
        tag: "Status",
        payload: {},
        headers: [["authorization", `Bearer ${session}`]]
      }))
      const answer = await next((message) => message.requestId === id)
      expect(Object(answer.exit)._tag).toBe("Success")
    }
    expect(closedWith).toBeUndefined()
    ws.close()
  })
})
