/**
 * OpenAI's Chat Completions API over the gateway's runs, so that the official `openai` client and any
 * OpenAI-compatible tool can drive agents: `POST /v1/chat/completions` (a `chat.completion`, or with `stream: true`
 * a stream of `chat.completion.chunk`s ending with `data: [DONE]`) and `GET /v1/models`. `model` names the agent:
 * `openclaw` is `acp.defaultAgent`, `openclaw/<agent>` that agent. Each request is one run with the same
 * credentials, scopes, quotas and cancellation as `POST /v1/runs`; failures are answered in OpenAI's error shape
 * with the statuses of `HttpErrors`. The optional `x-openclaw-run-mode` header picks the run mode (default
 * `thread-bound`, as `StartRun`).
 */
import * as HttpRouter from "@effect/platform/HttpRouter"
import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import { Chunk, Clock, Effect, Either, Schema, Stream } from "effect"
import * as RunEventBuffer from "../Agents/RunEventBuffer.js"
import { RunSupervisor } from "../Agents/RunSupervisor.js"
import type { KnownAgent } from "../Config/ConfigSchema.js"
import { GatewayConfig } from "../Config/GatewayConfig.js"
import type { AgentEvent } from "../Domain/AgentEvent.js"
import type { HttpFailure } from "../Domain/HttpWire.js"
import { RunMode } from "../Domain/Ids.js"
import { InvalidRequest, type RunError } from "../Domain/RunError.js"
import { MaxPromptLength, StartRun } from "../Domain/RunSpec.js"
import type { Usage } from "../Domain/Usage.js"
import { Quota } from "../Quota/Quota.js"
import {
  type ChatCompletion,
  type ChatCompletionChunk,
  ChatCompletionRequest,
  type ChatMessage,
  type CompletionUsage,
  type Content,
  ModelNotFound,
  type OpenAiErrorBody,
  UnsupportedParameter
} from "./ChatCompletionsWire.js"
import { headersOf, statusOf } from "./HttpErrors.js"
import { HttpGuard } from "./HttpGuard.js"
import { sseHeaders } from "./HttpRuns.js"

/** Everything this API can refuse or fail with. */
export type ChatFailure = HttpFailure | ModelNotFound | UnsupportedParameter

// =============================================================================
// Errors in OpenAI's shape
// =============================================================================

/** OpenAI's error `type` for a status: what clients and tools that do not map statuses themselves look at. */
const typeOf = (status: number): string => {
  if (status === 401) return "authentication_error"
  if (status === 403) return "permission_error"
  if (status === 429) return "rate_limit_error"
  return status >= 500 ? "api_error" : "invalid_request_error"
}

/** OpenAI's `code` where OpenAI has one for the same failure, else the gateway's error tag in snake case. */
const codeOf = (error: ChatFailure): string => {
  switch (error._tag) {
    case "BearerRejected":
      return "invalid_api_key"
    case "ModelNotFound":
      return "model_not_found"
    case "UnsupportedParameter":
      return "unsupported_parameter"
    case "QueueFull":
    case "QuotaExceeded":
      return "rate_limit_exceeded"
    case "RunTimedOut":
      return "timeout"
    default:
      return error._tag.replace(/(?<=[a-z])(?=[A-Z])/g, "_").toLowerCase()
  }
}

export const errorStatusOf = (error: ChatFailure): number =>
  error._tag === "ModelNotFound" ? 404 : error._tag === "UnsupportedParameter" ? 400 : statusOf(error)

export const openAiErrorBody = (error: ChatFailure): OpenAiErrorBody => ({
  error: {
    message: error.message,
    type: typeOf(errorStatusOf(error)),
    param: error._tag === "UnsupportedParameter" ? error.param : error._tag === "ModelNotFound" ? "model" : null,
    code: codeOf(error)
  }
})

/** The answer of a refused or failed request: OpenAI's body, the gateway's status and `Retry-After`. */
const errorAnswer = (error: ChatFailure, extraHeaders: Record<string, string> = {}) =>
  HttpServerResponse.unsafeJson(openAiErrorBody(error), {
    status: errorStatusOf(error),
    headers: {
      ...(error._tag === "ModelNotFound" || error._tag === "UnsupportedParameter" ? {} : headersOf(error)),
      ...extraHeaders
    }
  })

// =============================================================================
// The request as a run
// =============================================================================

/** The model names this gateway serves, the default agent's first. */
const modelsOf = (acp: { readonly allowedAgents: ReadonlyArray<KnownAgent> }) => [
  "openclaw",
  ...acp.allowedAgents.map((agent) => `openclaw/${agent}`)
]

/** What the request asks for that a run cannot give: refused rather than silently not done. */
const refuseUnsupported = (body: ChatCompletionRequest): Either.Either<void, UnsupportedParameter> => {
  const refuse = (param: string, reason: string) => Either.left(new UnsupportedParameter({ param, reason }))
  if (body.n != null && body.n !== 1) return refuse("n", "the gateway answers with one choice; use n = 1")
  if ((body.tools ?? []).length > 0 || (body.functions ?? []).length > 0) {
    return refuse(
      body.functions == null ? "tools" : "functions",
      "client-side tools are not supported: the agents call their own tools on the gateway"
    )
  }
  const toolChoice = body.tool_choice
  if (toolChoice != null && toolChoice !== "none" && toolChoice !== "auto") {
    return refuse("tool_choice", "no tools can be called: client-side tools are not supported")
  }
  if (body.response_format != null && body.response_format.type !== "text") {
    return refuse("response_format", "structured output cannot be guaranteed; only `text` is supported")
  }
  if (body.logprobs === true) return refuse("logprobs", "log probabilities are not available from agent runs")
  return Either.void
}

/** One message's text: string content as is, text (and refusal) parts joined by newlines; other parts refused. */
const textOf = (content: Content, at: string): Either.Either<string, UnsupportedParameter> => {
  if (typeof content === "string") return Either.right(content)
  const texts: Array<string> = []
  for (const [index, part] of content.entries()) {
    const text = part.type === "text" ? part.text : part.type === "refusal" ? part.refusal : undefined
    if (text === undefined) {
      return Either.left(
        new UnsupportedParameter({
          param: `${at}.content[${index}]`,
          reason: part.type === "text" || part.type === "refusal"
            ? `a ${part.type} part needs its \`${part.type}\` field`
            : `content parts of type \`${part.type}\` are not supported; only text`
        })
      )
    }
    texts.push(text)
  }
  return Either.right(texts.join("\n"))
}

/**
 * The agent's prompt from the conversation. An agent takes one instruction, so:
 * - a conversation of one user message is that message's text, verbatim;
 * - otherwise the prompt has up to three sections: the system and developer messages (wherever they stand, in order)
 *   as instructions, the earlier turns as a transcript with one `[role]` line per message (an earlier assistant's
 *   tool calls and the client's tool results included, so nothing the client sent is lost), and the last message
 *   as the one to answer.
 * The last non-instruction message must be the user's: assistant prefill and tool-result continuations ask for a
 * completion of a model's own turn, which an agent run cannot give.
 */
export const promptOf = (messages: ReadonlyArray<ChatMessage>): Either.Either<string, UnsupportedParameter> =>
  Either.gen(function*() {
    const instructions: Array<string> = []
    const turns: Array<{ readonly at: number; readonly line: string; readonly role: ChatMessage["role"] }> = []
    for (const [index, message] of messages.entries()) {
      const at = `messages[${index}]`
      const named = (role: string) => message.role !== "tool" && message.name !== undefined
        ? `[${role} ${message.name}]`
        : `[${role}]`
      switch (message.role) {
        case "system":
        case "developer":
          instructions.push(yield* textOf(message.content, at))
          break
        case "user":
          turns.push({ at: index, role: "user", line: `${named("user")} ${yield* textOf(message.content, at)}` })
          break
        case "assistant": {
          const text = message.content == null ? (message.refusal ?? "") : yield* textOf(message.content, at)
          const calls = (message.tool_calls ?? []).map((call) =>
            `${named("assistant")} called tool ${call.function.name}(${call.function.arguments}) as ${call.id}`
          )
          const lines = [...(text === "" ? [] : [`${named("assistant")} ${text}`]), ...calls]
          turns.push({ at: index, role: "assistant", line: lines.join("\n") })
          break
        }
        case "tool":
          turns.push({
            at: index,
            role: "tool",
            line: `[tool result of ${message.tool_call_id}] ${yield* textOf(message.content, at)}`
          })
      }
    }
    const last = turns.at(-1)
    if (last?.role !== "user") {
      return yield* Either.left(
        new UnsupportedParameter({
          param: "messages",
          reason: "the last message must be the user's: the gateway answers it (assistant prefill and tool " +
            "results to continue from are not supported)"
        })
      )
    }
    const question = yield* textOf(messages[last.at]?.content ?? "", `messages[${last.at}]`)
    if (instructions.length === 0 && turns.length === 1) return question
    return [
      ...(instructions.length === 0 ? [] : [`Instructions:\n${instructions.join("\n\n")}`]),
      ...(turns.length === 1 ? [] : [`The conversation so far:\n${turns.slice(0, -1).map((t) => t.line).join("\n")}`]),
      `The user's message to answer now:\n${question}`
    ].join("\n\n")
  })

const modeHeader = "x-openclaw-run-mode"

/** `x-openclaw-run-mode`: `thread-bound` (default) or `inline`. */
const modeOf = (request: HttpServerRequest.HttpServerRequest): Either.Either<RunMode, InvalidRequest> => {
  const header = request.headers[modeHeader]
  if (header === undefined) return Either.right("thread-bound")
  return Either.mapLeft(
    Schema.decodeUnknownEither(RunMode)(header),
    () =>
      new InvalidRequest({ reason: `${modeHeader} must be "thread-bound" or "inline", not ${JSON.stringify(header)}` })
  )
}

// =============================================================================
// The run as an answer
// =============================================================================

/**
 * The reply's content as it grows, event by event: the model's text (every turn's, in order) and nothing else. A
 * turn that follows tool work is set apart from the text before it by a blank line. Tool calls, tool results,
 * command output and subagents' events are not content: the stream marks the tool work with SSE comment lines
 * (`: tool_call shell`), which clients ignore and proxies see as activity; the non-streaming answer leaves it out.
 * The streamed deltas joined are exactly the non-streaming answer's content.
 */
const makeReply = () => {
  let wrote = false
  let afterTools = false
  return (event: AgentEvent): string | undefined => {
    switch (event._tag) {
      case "TokenDelta": {
        if (event.text === "") return undefined
        const piece = wrote && afterTools ? `\n\n${event.text}` : event.text
        wrote = true
        afterTools = false
        return piece
      }
      case "ToolCalled":
      case "ToolResult":
      case "CommandOutput":
      case "CommandExited":
        afterTools = true
        return undefined
      default:
        return undefined
    }
  }
}

/** The SSE comment for an event that is not content, if it says something a watcher of the stream can use. */
const commentOf = (event: AgentEvent): string | undefined => {
  const oneLine = (text: string) => text.replace(/[\r\n]+/g, " ")
  switch (event._tag) {
    case "RunQueued":
      return `queued ${event.position}`
    case "ToolCalled":
      return `tool_call ${oneLine(event.name)}`
    case "ToolResult":
      return `tool_result ${oneLine(event.name)} ${event.isError ? "error" : "ok"}`
    case "CommandExited":
      return `command_exited ${event.exitCode}`
    default:
      return undefined
  }
}

const usageOf = (usage: Usage): CompletionUsage => ({
  prompt_tokens: usage.inputTokens,
  completion_tokens: usage.outputTokens,
  total_tokens: usage.inputTokens + usage.outputTokens
})

interface Reply {
  readonly id: string
  readonly created: number
  readonly model: string
}

const utf8 = new TextEncoder()
const dataFrame = (payload: unknown): string => `data: ${JSON.stringify(payload)}\n\n`

/**
 * The SSE stream of a run: a first chunk with the role, one chunk per content delta (a chunk of events is one write),
 * on `RunCompleted` a chunk with `finish_reason: "stop"`, the usage chunk if asked, and `data: [DONE]`. A failure ends
 * the stream with OpenAI's error object as the last `data:` frame (and no `[DONE]`).
 */
const sseOf = (
  reply: Reply,
  includeUsage: boolean,
  events: Stream.Stream<AgentEvent, RunError>
): Stream.Stream<Uint8Array> => {
  const chunk = (choices: ChatCompletionChunk["choices"]): ChatCompletionChunk => ({
    id: reply.id,
    object: "chat.completion.chunk",
    created: reply.created,
    model: reply.model,
    choices,
    ...(includeUsage ? { usage: null } : {})
  })
  const delta = (content: string) => chunk([{ index: 0, delta: { content }, logprobs: null, finish_reason: null }])
  const first = chunk([{ index: 0, delta: { role: "assistant", content: "" }, logprobs: null, finish_reason: null }])
  return Stream.suspend(() => {
    const pieceOf = makeReply()
    const framesOf = (event: AgentEvent): string => {
      if (event._tag === "RunCompleted") {
        const stop = chunk([{ index: 0, delta: {}, logprobs: null, finish_reason: "stop" }])
        const usage = includeUsage ? [dataFrame({ ...chunk([]), usage: usageOf(event.usage) })] : []
        return [dataFrame(stop), ...usage, "data: [DONE]\n\n"].join("")
      }
      const piece = pieceOf(event)
      if (piece !== undefined) return dataFrame(delta(piece))
      const comment = commentOf(event)
      return comment === undefined ? "" : `: ${comment}\n\n`
    }
    return Stream.concat(
      Stream.succeed(utf8.encode(dataFrame(first))),
      events.pipe(
        Stream.mapChunks((batch) => Chunk.of(Chunk.join(Chunk.map(batch, framesOf), ""))),
        Stream.filter((frames) => frames !== ""),
        Stream.map((frames) => utf8.encode(frames)),
        Stream.catchAll((error: RunError) => Stream.succeed(utf8.encode(dataFrame(openAiErrorBody(error)))))
      )
    )
  })
}

/** The whole run as one `chat.completion`, or its failure. */
const completionOf = Effect.fnUntraced(function*(reply: Reply, events: Stream.Stream<AgentEvent, RunError>) {
  const pieceOf = makeReply()
  let content = ""
  let usage: Usage | undefined
  yield* Stream.runForEach(events, (event) =>
    Effect.sync(() => {
      if (event._tag === "RunCompleted") usage = event.usage
      content += pieceOf(event) ?? ""
    }))
  if (usage === undefined) return yield* Effect.dieMessage(`run ${reply.id} ended without RunCompleted`)
  const completion: ChatCompletion = {
    id: reply.id,
    object: "chat.completion",
    created: reply.created,
    model: reply.model,
    choices: [{
      index: 0,
      message: { role: "assistant", content, refusal: null },
      logprobs: null,
      finish_reason: "stop"
    }],
    usage: usageOf(usage)
  }
  return completion
})

const createCompletion = Effect.gen(function*() {
  const request = yield* HttpServerRequest.HttpServerRequest
  const guard = yield* HttpGuard
  const quota = yield* Quota
  const supervisor = yield* RunSupervisor
  const { config } = yield* GatewayConfig
  const principal = yield* guard.authorize(request, "runs:write")
  // Unknown keys accepted, unlike every other body of the gateway: see ChatCompletionRequest.
  const body = yield* guard.decodeBody(request, ChatCompletionRequest, { onExcessProperty: "ignore" })
  yield* refuseUnsupported(body)
  const agent = body.model === "openclaw"
    ? config.acp.defaultAgent
    : config.acp.allowedAgents.find((allowed) => `openclaw/${allowed}` === body.model)
  if (agent === undefined) return yield* new ModelNotFound({ model: body.model, available: modelsOf(config.acp) })
  const prompt = yield* promptOf(body.messages)
  if (prompt.length > MaxPromptLength) {
    return yield* new InvalidRequest({ reason: `the conversation is longer than ${MaxPromptLength} characters` })
  }
  const mode = yield* modeOf(request)
  // Held by the request's scope, which lasts until the answer is written (or the client leaves).
  yield* quota.admit(principal.name)
  const run = yield* supervisor.start(new StartRun({ agent, mode, prompt }), { principal: principal.name })
  const runHeaders = { "x-openclaw-run-id": run.runId }
  const reply: Reply = {
    id: `chatcmpl-${run.runId}`,
    created: Math.floor((yield* Clock.currentTimeMillis) / 1000),
    model: body.model
  }

  if (body.stream === true) {
    const opened = yield* Effect.either(RunEventBuffer.opened(run.events))
    if (opened._tag === "Left") return errorAnswer(opened.left, runHeaders)
    return HttpServerResponse.stream(sseOf(reply, body.stream_options?.include_usage === true, opened.right), {
      contentType: "text/event-stream",
      headers: { ...sseHeaders, ...runHeaders }
    })
  }
  const completion = yield* Effect.either(completionOf(reply, RunEventBuffer.toStream(run.events)))
  if (completion._tag === "Left") return errorAnswer(completion.left, runHeaders)
  return HttpServerResponse.unsafeJson(completion.right, { headers: runHeaders })
})

/** `GET /v1/models`: what `model` may name, for the tools that list models before they pick one. */
const listModels = Effect.gen(function*() {
  const request = yield* HttpServerRequest.HttpServerRequest
  const guard = yield* HttpGuard
  const { config } = yield* GatewayConfig
  yield* guard.authorize(request, "runs:write")
  return HttpServerResponse.unsafeJson({
    object: "list",
    data: modelsOf(config.acp).map((id) => ({ id, object: "model", created: 0, owned_by: "openclaw" }))
  })
})

const answerFailure = <R>(effect: Effect.Effect<HttpServerResponse.HttpServerResponse, ChatFailure, R>) =>
  Effect.catchAll(effect, (error) => Effect.succeed(errorAnswer(error)))

export const routes = HttpRouter.empty.pipe(
  HttpRouter.post("/v1/chat/completions", answerFailure(createCompletion)),
  HttpRouter.get("/v1/models", answerFailure(listModels))
)
