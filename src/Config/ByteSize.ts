/** Sizes in config: a number of bytes, or a string such as "100MB", "512KiB", "1.5GB" (1 KB = 1024 B). */
import { ParseResult, Schema } from "effect"

const units: Record<string, number> = {
  b: 1,
  kb: 1024,
  kib: 1024,
  k: 1024,
  mb: 1024 ** 2,
  mib: 1024 ** 2,
  m: 1024 ** 2,
  gb: 1024 ** 3,
  gib: 1024 ** 3,
  g: 1024 ** 3
}

const pattern = /^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$/

export const parseByteSize = (input: string): number | undefined => {
  const match = pattern.exec(input)
  if (match === null) return undefined
  const factor = units[(match[2] ?? "").toLowerCase() || "b"]
  if (factor === undefined) return undefined
  const bytes = Math.floor(Number(match[1]) * factor)
  return Number.isSafeInteger(bytes) ? bytes : undefined
}

const formatByteSize = (bytes: number): string => {
  for (const [unit, factor] of [["GB", 1024 ** 3], ["MB", 1024 ** 2], ["KB", 1024]] as const) {
    if (bytes >= factor && bytes % factor === 0) return `${bytes / factor}${unit}`
  }
  return `${bytes}B`
}

const ByteSizeString = Schema.String.annotations({
  title: "size",
  description: "bytes, or a size such as \"100MB\", \"512KB\", \"1GB\" (1 KB = 1024 bytes)",
  examples: ["100MB"]
})

/** Decodes to a whole number of bytes (> 0). */
export const ByteSize = Schema.transformOrFail(
  Schema.Union(Schema.Int.pipe(Schema.positive()), ByteSizeString),
  Schema.Int.pipe(Schema.positive()),
  {
    strict: true,
    decode: (input, _, ast) => {
      if (typeof input === "number") return ParseResult.succeed(input)
      const bytes = parseByteSize(input)
      return bytes === undefined || bytes <= 0
        ? ParseResult.fail(
          new ParseResult.Type(ast, input, `expected a size such as "100MB", got ${JSON.stringify(input)}`)
        )
        : ParseResult.succeed(bytes)
    },
    encode: (bytes) => ParseResult.succeed(formatByteSize(bytes))
  }
).annotations({ identifier: "ByteSize" })
