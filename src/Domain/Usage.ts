/**
 * Token accounting reported when a run completes. A plain struct, not a class: every run builds one or more (each
 * model turn, and the main thread again for a pooled run's completion), and a Schema class's constructor cost ~1.3 µs
 * of the pool's main thread per run for a value with no behaviour.
 */
import { Schema } from "effect"

export const Usage = Schema.Struct({
  inputTokens: Schema.Int.pipe(Schema.nonNegative()),
  outputTokens: Schema.Int.pipe(Schema.nonNegative())
}).annotations({ identifier: "Usage" })
export type Usage = typeof Usage.Type
