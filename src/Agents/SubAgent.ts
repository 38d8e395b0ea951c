/** The subagent: the LLM loop alone, no commands (a later issue lets codex spawn it as a tool). */
import { Option, Stream } from "effect"
import { InvalidRequest } from "../Domain/RunError.js"
import type { Agent } from "./Agent.js"
import { promptModel } from "./AgentLoop.js"
import { subagentTools } from "./AgentTools.js"

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
  run: (context) => promptModel(context, context.spec.prompt ?? "", subagentTools).pipe(Stream.withSpan("SubAgent.run"))
}
