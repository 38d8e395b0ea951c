import * as Response from "@effect/ai/Response"
import { Chunk, Effect, Schema } from "effect"
import * as AgentTools from "../src/Agents/AgentTools.js"
const toolkit = AgentTools.toolkit
const parts: Array<Response.StreamPartEncoded> = [{ type: "text-start", id: "a" }, { type: "text-delta", id: "a", delta: "x" }]
const t = () => performance.now()
for (let round = 0; round < 5; round++) {
  const n = 200
  let build = 0, compile = 0, second = 0
  for (let i = 0; i < n; i++) {
    const a = t()
    const schema = Schema.ChunkFromSelf(Response.StreamPart(toolkit))
    const b = t()
    const decode = Schema.decode(schema)
    Effect.runSync(decode(Chunk.unsafeFromArray(parts)))
    const c = t()
    Effect.runSync(decode(Chunk.unsafeFromArray(parts)))
    const d = t()
    build += b - a; compile += c - b; second += d - c
  }
  console.log(`build ${(build / n).toFixed(3)} ms, first decode ${(compile / n).toFixed(3)} ms, second decode ${(second / n).toFixed(3)} ms`)
}
