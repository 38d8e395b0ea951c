/** The package version, read once from package.json (two levels up from both src/ and dist/). */
import { createRequire } from "node:module"

/** The package.json two levels up; none in a build of the sources elsewhere (the benchmark's, under node_modules/.cache). */
const readPackageJson = (): unknown => {
  try {
    return createRequire(import.meta.url)("../package.json")
  } catch {
    return undefined
  }
}

const packageJson = readPackageJson()

export const version: string =
  typeof packageJson === "object" && packageJson !== null && "version" in packageJson &&
    typeof packageJson.version === "string"
    ? packageJson.version
    : "0.0.0"
