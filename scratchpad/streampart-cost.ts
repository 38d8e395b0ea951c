// Cost of building and of using @effect/ai's StreamPart schema for the codex toolkit (see src/Agents/ModelTurn.ts).
import { Response, Toolkit } from "@effect/ai"
import { Chunk, Effect, Schema } from "effect"
import { toolkit } from "../src/Agents/AgentTools.js"

const parts = Chunk.fromIterable([
  { type: "text-delta", id: "1", delta: "hello " },
  { type: "finish", reason: "stop", usage: { inputTokens: 1, outputTokens: 2, totalTokens: 3 } }
])
const time = (name: string, f: () => unknown, n = 100) => {
  for (let i = 0; i < 10; i++) f()
  const start = performance.now()
  for (let i = 0; i < n; i++) f()
  console.log(name, ((performance.now() - start) / n).toFixed(3), "ms")
}
time("build StreamPart(toolkit)", () => Response.StreamPart(toolkit))
time("build StreamPart(empty)", () => Response.StreamPart(Toolkit.empty))
time("build + decode 2 parts (toolkit)", () =>
  Effect.runSync(Schema.decode(Schema.ChunkFromSelf(Response.StreamPart(toolkit)))(parts as never)))
const cached = Schema.decode(Schema.ChunkFromSelf(Response.StreamPart(toolkit)))
time("cached decode 2 parts (toolkit)", () => Effect.runSync(cached(parts as never)))
