// Prints the config reference table for the README from the JSON Schema (descriptions + defaults).
import { configJsonSchema } from "../src/Config/ConfigJsonSchema.js"

type Node = { [key: string]: unknown }
const isNode = (v: unknown): v is Node => typeof v === "object" && v !== null && !Array.isArray(v)
const root = configJsonSchema() as Node
const defs = (isNode(root.definitions) ? root.definitions : {}) as Node
const deref = (n: Node): Node => {
  const ref = n["$ref"]
  if (typeof ref === "string") return deref(defs[ref.replace("#/definitions/", "")] as Node)
  return n
}
const rows: Array<string> = []
const walk = (n: Node, prefix: string) => {
  n = deref(n)
  const props = isNode(n.properties) ? n.properties : undefined
  if (props) {
    for (const [k, v] of Object.entries(props)) {
      const child = deref(v as Node)
      const name = prefix ? `${prefix}.${k}` : k
      if (isNode(child.properties)) walk(child, name)
      else rows.push(`| \`${name}\` | ${child.default === undefined ? "—" : "`" + JSON.stringify(child.default) + "`"} | ${String(child.description ?? "").replace(/\|/g, "\\|").replace(/\n/g, " ")} |`)
    }
  }
}
walk(root, "")
console.log(rows.join("\n"))
