/** `openclaw config validate|schema`: checks and documents openclaw.json. */
import { Args, Command } from "@effect/cli"
import { Effect, Option } from "effect"
import { configJsonSchema } from "../Config/ConfigJsonSchema.js"
import { loadConfig, renderConfig } from "../Config/ConfigLoader.js"
import { writeOut, writeErr, configFailure } from "./CliCommon.js"

const validate = Command.make("validate", {
  path: Args.text({ name: "PATH" }).pipe(
    Args.withDescription("openclaw.json to check (default: the lookup)"),
    Args.optional
  )
}, ({ path }) =>
  loadConfig(path).pipe(
    Effect.mapError(configFailure),
    Effect.flatMap(({ config, file, warnings }) =>
      Effect.all([
        Effect.forEach(warnings, (warning) => writeErr(`warning: ${warning}\n`)),
        writeErr(`${Option.getOrElse(file, () => "<embedded defaults>")} is valid\n`),
        writeOut(renderConfig(config) + "\n")
      ])
    )
  )).pipe(Command.withDescription("Check openclaw.json and print it decoded, with defaults and secrets redacted"))

const schema = Command.make("schema", {}, () => writeOut(JSON.stringify(configJsonSchema(), null, 2) + "\n")).pipe(
  Command.withDescription("Print the JSON Schema of openclaw.json")
)

export const config = Command.make("config").pipe(
  Command.withSubcommands([validate, schema]),
  Command.withDescription("Check or document openclaw.json")
)
