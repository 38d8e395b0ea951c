/** The subagent: the tool loop on a prompt, in its own workspace; it runs no command of its own. */
import { Context, Effect, Option } from "effect"
import { InvalidRequest } from "../Domain/RunError.js"
import type { Agent } from "./Agent.js"
import * as AgentLoop from "./AgentLoop.js"
import { Tools } from "./Tools.js"

export const SubAgent: Agent = {
  name: "subagent",
  validate: (spec) => {
    if (spec.command !== undefined) {
      return Option.some(new InvalidRequest({ reason: "the subagent does not run commands; use the codex agent" }))
    }
    if (spec.prompt === undefined || spec.prompt.trim() === "") {
      return Option.some(new InvalidRequest({ reason: "the subagent needs a prompt" }))
    }
    return Option.none()
  },
  run: (context, emit, services) =>
    Effect.scopedWith((scope) => {
      const tools = Context.get(services, Tools).open(context, scope)
      return AgentLoop.run(context, tools, context.spec.prompt ?? "", emit, services)
    }).pipe(Effect.withSpan("SubAgent.run"))
}
