/**
 * Secrets in config: a literal string, or `{"env": "NAME"}` to read it from the environment at
 * load time. Decoded to `Redacted` so that it never appears in logs or `config validate`.
 */
import { ParseResult, Redacted, Schema } from "effect"

export const EnvReference = Schema.Struct({
  env: Schema.String.pipe(Schema.pattern(/^[A-Za-z_][A-Za-z0-9_]*$/)).annotations({
    description: "name of the environment variable that holds the secret"
  })
})

export const Secret = Schema.transformOrFail(
  Schema.Union(Schema.String.pipe(Schema.minLength(1)), EnvReference),
  Schema.RedactedFromSelf(Schema.String),
  {
    strict: true,
    decode: (input, _, ast) => {
      if (typeof input === "string") return ParseResult.succeed(Redacted.make(input))
      const value = process.env[input.env]
      return value === undefined || value === ""
        ? ParseResult.fail(new ParseResult.Type(ast, input, `environment variable ${input.env} is not set`))
        : ParseResult.succeed(Redacted.make(value))
    },
    // Encoding never reveals the value: it is only used to print the decoded config.
    encode: () => ParseResult.succeed("<redacted>")
  }
).annotations({ identifier: "Secret" })
