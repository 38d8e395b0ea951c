/**
 * The JSON Schema (draft-07) of `openclaw.json` for editors, generated from `OpenclawConfig` so it
 * cannot drift from what the gateway accepts. It describes the file side: sizes as an integer or a
 * string such as "100MB", secrets as a string or {"env": "NAME"}, every key optional and documented
 * with its default, unknown keys refused. Cross-field rules (minThreads <= maxThreads, ...) are
 * not expressible here; `openclaw config validate` checks them.
 */
import { JSONSchema } from "effect"
import { OpenclawConfig } from "./ConfigSchema.js"

/**
 * `JSONSchema.make` would put the whole file behind a top-level `$ref` into `$defs` (the schema
 * has an identifier), and `Int`, `ByteSize`, `Secret` behind more refs. Editors and readers want
 * the properties at the root, so this calls `fromAST`, the function `make` is built on, with
 * references skipped: every key is inlined with its own description and default.
 */
export const configJsonSchema = (): JSONSchema.JsonSchema7Root & {
  readonly definitions?: Record<string, JSONSchema.JsonSchema7>
} => {
  const definitions: Record<string, JSONSchema.JsonSchema7> = {}
  const root = JSONSchema.fromAST(OpenclawConfig.ast, {
    definitions,
    definitionPath: "#/definitions/",
    target: "jsonSchema7",
    topLevelReferenceStrategy: "skip",
    additionalPropertiesStrategy: "strict"
  })
  const schema = { $schema: "http://json-schema.org/draft-07/schema#", ...root }
  return Object.keys(definitions).length === 0 ? schema : { ...schema, definitions }
}
