/**
 * Where the worker entry's compiled JavaScript is. Worker threads need a `.js` file: when this module
 * itself runs from TypeScript sources (vitest), the entry is taken from `dist/`, which `npm test`
 * builds first.
 */
import * as fs from "node:fs"
import { fileURLToPath, pathToFileURL } from "node:url"

export const defaultWorkerScript = (): URL => {
  const here = fileURLToPath(import.meta.url)
  if (!here.endsWith(".ts")) return new URL("./WorkerMain.js", import.meta.url)
  const compiled = here.replace(/([/\\])src([/\\])Pool([/\\])WorkerScript\.ts$/, "$1dist$2Pool$3WorkerMain.js")
  if (!fs.existsSync(compiled)) {
    throw new Error(`worker entry ${compiled} not found: run \`npm run build\` first`)
  }
  return pathToFileURL(compiled)
}
