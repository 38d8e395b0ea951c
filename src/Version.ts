/** The package version, read once from package.json (two levels up from both src/ and dist/). */
import { createRequire } from "node:module"

const packageJson: unknown = createRequire(import.meta.url)("../package.json")

export const version: string =
  typeof packageJson === "object" && packageJson !== null && "version" in packageJson &&
    typeof packageJson.version === "string"
    ? packageJson.version
    : "0.0.0"
