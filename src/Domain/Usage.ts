/** Token accounting reported when a run completes. */
import { Schema } from "effect"

export class Usage extends Schema.Class<Usage>("openclaw/Usage")({
  inputTokens: Schema.Int.pipe(Schema.nonNegative()),
  outputTokens: Schema.Int.pipe(Schema.nonNegative())
}) {}
