/**
 * Our own OpenAI Chat Completions provider (`models.providers.openai.api: "chat"`): an `@effect/ai` `LanguageModel`
 * over `POST {baseUrl}/chat/completions` with `stream: true`, for the many OpenAI-compatible servers (vLLM,
 * llama.cpp, Ollama, LiteLLM) that do not speak the Responses API `@effect/ai-openai` uses. It streams text deltas,
 * reassembles tool calls from their fragments and reports usage from the final chunk. Every failure is an `AiError`:
 * a non-2xx response or an error event keeps its status, headers (`Retry-After`) and message; a lost connection is
 * a `Transport` error. Retries and timeouts are not done here (a generic wrapper applies them to every provider).
 */
import * as AiError from "@effect/ai/AiError"
import * as LanguageModel from "@effect/ai/LanguageModel"
import type * as Prompt from "@effect/ai/Prompt"
import type * as Response from "@effect/ai/Response"
import * as Tool from "@effect/ai/Tool"
import * as Headers from "@effect/platform/Headers"
import type * as HttpClientError from "@effect/platform/HttpClientError"
import type * as HttpClientResponse from "@effect/platform/HttpClientResponse"
import * as HttpClient from "@effect/platform/HttpClient"
import * as HttpClientRequest from "@effect/platform/HttpClientRequest"
import { Chunk, Effect, Encoding, Either, FiberRef, identity, Option, Redacted, Runtime, Schema, Stream } from "effect"
import * as Wire from "./OpenAiChatWire.js"
import type { ProviderModels } from "./ProviderRegistry.js"

export interface OpenAiChatConfig {
  /** Sent as `Authorization: Bearer <key>`; redacted in spans, logs and errors. */
  readonly apiKey: Redacted.Redacted<string>
  /** The API root, e.g. `"https://api.openai.com/v1"`; requests go to `{baseUrl}/chat/completions`. */
  readonly baseUrl: string
}

const moduleName = "OpenAiChat"

/** Most bytes of an error response's body that are read, and quoted in the error. */
export const maxErrorBodyBytes = 16 * 1024

/** The id of the one text block of a response (Chat Completions has a single content stream per choice). */
const textId = "text-0"

type RequestDetails = typeof AiError.HttpRequestDetails.Type

/** Headers as plain strings, with the sensitive ones (`authorization`, cookies, ...) replaced by `<redacted>`. */
const redactedRecord = (
  headers: Headers.Headers,
  names: ReadonlyArray<string | RegExp>
): Record<string, string> =>
  Object.fromEntries(
    Object.entries(Headers.redact(headers, names)).map((
      [name, value]
    ) => [name, Redacted.isRedacted(value) ? "<redacted>" : value])
  )

// =============================================================================
// Prompt -> request
// =============================================================================

const malformedInput = (method: string, description: string) =>
  new AiError.MalformedInput({ module: moduleName, method, description })

/** A file part as an `image_url` (only images: Chat Completions takes other files in provider-specific ways). */
const imageUrl = (
  part: Prompt.FilePart,
  method: string
): Either.Either<Wire.ChatContentPart, AiError.MalformedInput> => {
  if (!part.mediaType.startsWith("image/")) {
    return Either.left(malformedInput(method, `file parts of type ${part.mediaType} are not supported, only images`))
  }
  const url = part.data instanceof URL
    ? part.data.href
    : typeof part.data === "string"
    ? /^(https?:|data:)/.test(part.data) ? part.data : `data:${part.mediaType};base64,${part.data}`
    : `data:${part.mediaType};base64,${Encoding.encodeBase64(part.data)}`
  return Either.right({ type: "image_url", image_url: { url } })
}

/** A tool result as the `content` of a `role: "tool"` message; failures are wrapped so the model sees they failed. */
const toolResultContent = (part: Prompt.ToolResultPart): string => {
  const result: unknown = part.isFailure ? { error: part.result } : part.result
  return typeof result === "string" ? result : JSON.stringify(result) ?? "null"
}

export const toMessages = (
  prompt: Prompt.Prompt,
  method: string
): Either.Either<Array<Wire.ChatMessage>, AiError.MalformedInput> => {
  const messages: Array<Wire.ChatMessage> = []
  for (const message of prompt.content) {
    switch (message.role) {
      case "system":
        messages.push({ role: "system", content: message.content })
        break
      case "user": {
        if (message.content.every((part) => part.type === "text")) {
          messages.push({ role: "user", content: message.content.map((part) => part.text).join("\n") })
          break
        }
        const content: Array<Wire.ChatContentPart> = []
        for (const part of message.content) {
          if (part.type === "text") {
            content.push({ type: "text", text: part.text })
            continue
          }
          const image = imageUrl(part, method)
          if (Either.isLeft(image)) return Either.left(image.left)
          content.push(image.right)
        }
        messages.push({ role: "user", content })
        break
      }
      case "assistant": {
        // Reasoning and provider-executed tool results are the provider's own state: not sent back.
        const text = message.content.flatMap((part) => part.type === "text" ? [part.text] : []).join("")
        const toolCalls = message.content.flatMap((part): Array<Wire.ChatToolCall> =>
          part.type === "tool-call" && !part.providerExecuted
            ? [{
              id: part.id,
              type: "function",
              function: { name: part.name, arguments: JSON.stringify(part.params) ?? "{}" }
            }]
            : []
        )
        messages.push(
          toolCalls.length === 0
            ? { role: "assistant", content: text }
            : { role: "assistant", content: text === "" ? null : text, tool_calls: toolCalls }
        )
        break
      }
      case "tool":
        for (const part of message.content) {
          messages.push({ role: "tool", tool_call_id: part.id, content: toolResultContent(part) })
        }
        break
    }
  }
  return Either.right(messages)
}

/** The user-defined tools as Chat Completions functions (provider-defined tools have no Chat Completions form). */
export const toTools = (tools: ReadonlyArray<Tool.Any>): Array<Wire.ChatTool> =>
  tools.filter((tool) => !Tool.isProviderDefined(tool)).map((tool) => ({
    type: "function",
    function: {
      name: tool.name,
      ...(tool.description === undefined ? {} : { description: tool.description }),
      parameters: Tool.getJsonSchemaFromSchemaAst(tool.parametersSchema.ast)
    }
  }))

const toToolChoice = (choice: LanguageModel.ProviderOptions["toolChoice"]): Wire.ChatToolChoice => {
  if (typeof choice === "string") return choice
  if ("tool" in choice) return { type: "function", function: { name: String(choice.tool) } }
  // `oneOf` is applied by LanguageModel already: `options.tools` holds only the allowed tools.
  return choice.mode === "required" ? "required" : "auto"
}

export const toRequest = (
  model: string,
  options: LanguageModel.ProviderOptions,
  method: string
): Either.Either<Wire.ChatRequest, AiError.MalformedInput> =>
  Either.map(toMessages(options.prompt, method), (messages) => {
    const tools = toTools(options.tools)
    const format = options.responseFormat
    return {
      model,
      messages,
      stream: true,
      stream_options: { include_usage: true },
      ...(tools.length === 0 ? {} : { tools, tool_choice: toToolChoice(options.toolChoice) }),
      ...(format.type === "json"
        ? {
          response_format: {
            type: "json_schema",
            json_schema: {
              name: format.objectName,
              schema: Tool.getJsonSchemaFromSchemaAst(format.schema.ast),
              strict: false
            }
          }
        }
        : {})
    }
  })

// =============================================================================
// Stream chunks -> response parts
// =============================================================================

const finishReason = (reason: string | null | undefined, hasToolCalls: boolean): Response.FinishReason => {
  switch (reason) {
    case "stop":
      // Some compatible servers say "stop" after tool calls.
      return hasToolCalls ? "tool-calls" : "stop"
    case "length":
      return "length"
    case "tool_calls":
    case "function_call":
      return "tool-calls"
    case "content_filter":
      return "content-filter"
    case null:
    case undefined:
      return hasToolCalls ? "tool-calls" : "unknown"
    default:
      return "other"
  }
}

const toUsage = (usage: Wire.ChatUsage | undefined): typeof Response.Usage.Encoded => {
  if (usage === undefined) return { inputTokens: undefined, outputTokens: undefined, totalTokens: undefined }
  const reasoning = usage.completion_tokens_details?.reasoning_tokens
  const cached = usage.prompt_tokens_details?.cached_tokens
  return {
    inputTokens: usage.prompt_tokens,
    outputTokens: usage.completion_tokens,
    totalTokens: usage.total_tokens ?? usage.prompt_tokens + usage.completion_tokens,
    ...(reasoning === undefined || reasoning === null ? {} : { reasoningTokens: reasoning }),
    ...(cached === undefined || cached === null ? {} : { cachedInputTokens: cached })
  }
}

const JsonArguments = Schema.parseJson()

interface PendingCall {
  id: string
  name: string
  arguments: string
}

/**
 * The state of one response: turns decoded chunks into parts. Text parts are emitted as they arrive; a tool call is
 * emitted whole once the choice finished (its arguments arrive in fragments); the finish part at the end, when
 * the usage chunk (after the finish reason) has been read.
 */
const makeAssembler = (method: string) => {
  let metadataSent = false
  let textOpen = false
  let finished = false
  let reason: string | null | undefined
  let usage: Wire.ChatUsage | undefined
  const calls = new Map<number, PendingCall>()
  let callsSent = false

  const closeChoice = (out: Array<Response.StreamPartEncoded>): AiError.MalformedOutput | undefined => {
    if (textOpen) {
      out.push({ type: "text-end", id: textId })
      textOpen = false
    }
    if (callsSent) return undefined
    callsSent = true
    for (const [index, call] of [...calls.entries()].sort(([a], [b]) => a - b)) {
      if (call.name === "") {
        return new AiError.MalformedOutput({
          module: moduleName,
          method,
          description: `tool call ${index} of the response has no function name`
        })
      }
      const id = call.id === "" ? `call_${index}` : call.id
      const params = call.arguments.trim() === ""
        ? Either.right({})
        : Schema.decodeEither(JsonArguments)(call.arguments)
      if (Either.isLeft(params)) {
        return new AiError.MalformedOutput({
          module: moduleName,
          method,
          description: `the arguments of tool call ${id} (${call.name}) are not valid JSON: ` +
            call.arguments.slice(0, 200)
        })
      }
      out.push({ type: "tool-call", id, name: call.name, params: params.right })
    }
    return undefined
  }

  const onChunk = (
    chunk: Wire.ChatCompletionChunk,
    out: Array<Response.StreamPartEncoded>
  ): AiError.MalformedOutput | undefined => {
    if (!metadataSent && (chunk.id !== undefined || chunk.model !== undefined)) {
      metadataSent = true
      const created = chunk.created
      out.push({
        type: "response-metadata",
        ...(chunk.id === undefined || chunk.id === null ? {} : { id: chunk.id }),
        ...(chunk.model === undefined || chunk.model === null ? {} : { modelId: chunk.model }),
        ...(created === undefined || created === null ? {} : { timestamp: new Date(created * 1000).toISOString() })
      })
    }
    if (chunk.usage !== undefined && chunk.usage !== null) usage = chunk.usage
    // We ask for one choice; a server that sends more has its others ignored.
    for (const choice of chunk.choices) {
      if (choice.index !== 0) continue
      const content = choice.delta?.content
      if (content !== undefined && content !== null && content !== "") {
        if (!textOpen) {
          out.push({ type: "text-start", id: textId })
          textOpen = true
        }
        out.push({ type: "text-delta", id: textId, delta: content })
      }
      for (const fragment of choice.delta?.tool_calls ?? []) {
        const call = calls.get(fragment.index) ?? { id: "", name: "", arguments: "" }
        calls.set(fragment.index, call)
        if (call.id === "" && fragment.id) call.id = fragment.id
        if (call.name === "" && fragment.function?.name) call.name = fragment.function.name
        call.arguments += fragment.function?.arguments ?? ""
      }
      if (choice.finish_reason !== undefined && choice.finish_reason !== null) {
        reason = choice.finish_reason
        finished = true
        const error = closeChoice(out)
        if (error !== undefined) return error
      }
    }
    return undefined
  }

  /** The end of the stream (`[DONE]`, or the body ended): the remaining parts and the finish part. */
  const onEnd = (sawDone: boolean): Either.Either<Array<Response.StreamPartEncoded>, AiError.MalformedOutput> => {
    if (!sawDone && !finished) {
      return Either.left(
        new AiError.MalformedOutput({
          module: moduleName,
          method,
          description: "the response stream ended before the model finished (no finish_reason and no [DONE])"
        })
      )
    }
    const out: Array<Response.StreamPartEncoded> = []
    const error = closeChoice(out)
    if (error !== undefined) return Either.left(error)
    out.push({ type: "finish", reason: finishReason(reason, calls.size > 0), usage: toUsage(usage) })
    return Either.right(out)
  }

  return { onChunk, onEnd }
}

// =============================================================================
// The provider
// =============================================================================

/**
 * A factory of `LanguageModel.Service`s, one per model name, all sharing the HTTP client. Requests are scoped to
 * the stream that reads them: interrupting the stream, or reading it only partly, aborts the HTTP request.
 */
export const make = (
  config: OpenAiChatConfig
): Effect.Effect<ProviderModels, never, HttpClient.HttpClient> =>
  Effect.gen(function*() {
    const httpClient = HttpClient.withScope(yield* HttpClient.HttpClient)
    const runtime = yield* Effect.runtime<never>()
    const url = `${config.baseUrl.replace(/\/+$/, "")}/chat/completions`

    const requestError = (
      method: string,
      details: RequestDetails,
      description: string,
      cause?: unknown
    ): AiError.HttpRequestError =>
      new AiError.HttpRequestError({
        module: moduleName,
        method,
        reason: "Transport",
        request: details,
        description,
        ...(cause === undefined ? {} : { cause })
      })

    const fromClientError = (
      method: string,
      details: RequestDetails,
      names: ReadonlyArray<string | RegExp>,
      error: HttpClientError.HttpClientError
    ): AiError.AiError =>
      error._tag === "RequestError"
        ? new AiError.HttpRequestError({
          module: moduleName,
          method,
          reason: error.reason,
          request: details,
          description: error.description ?? causeMessage(error.cause),
          ...(error.cause === undefined ? {} : { cause: error.cause })
        })
        : new AiError.HttpResponseError({
          module: moduleName,
          method,
          reason: error.reason,
          request: details,
          response: { status: error.response.status, headers: redactedRecord(error.response.headers, names) },
          description: error.description ?? causeMessage(error.cause)
        })

    /** A non-2xx response: its status, headers and (bounded) body, with the API's error message when it sent one. */
    const statusError = (
      method: string,
      details: RequestDetails,
      names: ReadonlyArray<string | RegExp>,
      response: HttpClientResponse.HttpClientResponse
    ): Effect.Effect<never, AiError.HttpResponseError> =>
      readBounded(response.stream, maxErrorBodyBytes).pipe(
        Effect.flatMap((body) => {
          const envelope = Schema.decodeUnknownOption(Schema.parseJson(Wire.ErrorEnvelope))(body)
          const text = body.trim()
          const description = Option.match(envelope, {
            onNone: () => text === "" ? `HTTP ${response.status}` : text.slice(0, 500),
            onSome: ({ error }) => error.message
          })
          return new AiError.HttpResponseError({
            module: moduleName,
            method,
            reason: "StatusCode",
            request: details,
            response: { status: response.status, headers: redactedRecord(response.headers, names) },
            ...(text === "" ? {} : { body: text }),
            description
          })
        })
      )

    /** An error event inside a 2xx stream: its numeric `code` when it is an HTTP status, else the response's. */
    const eventError = (
      method: string,
      details: RequestDetails,
      names: ReadonlyArray<string | RegExp>,
      response: HttpClientResponse.HttpClientResponse,
      { error }: Wire.ErrorEnvelope
    ): AiError.HttpResponseError =>
      new AiError.HttpResponseError({
        module: moduleName,
        method,
        reason: "StatusCode",
        request: details,
        response: {
          status: typeof error.code === "number" && error.code >= 400 && error.code < 600
            ? error.code
            : response.status,
          headers: redactedRecord(response.headers, names)
        },
        body: JSON.stringify({ error }),
        description: `error event in the response stream${error.type ? ` (${error.type})` : ""}: ${error.message}`
      })

    const streamChat = (
      model: string,
      options: LanguageModel.ProviderOptions,
      method: string
    ): Stream.Stream<Response.StreamPartEncoded, AiError.AiError> =>
      Stream.unwrapScoped(Effect.gen(function*() {
        options.span.attribute("gen_ai.request.model", model)
        const body = yield* toRequest(model, options, method)
        const request = yield* HttpClientRequest.post(url).pipe(
          HttpClientRequest.bearerToken(config.apiKey),
          HttpClientRequest.setHeader("accept", "text/event-stream"),
          HttpClientRequest.bodyJson(body),
          Effect.mapError((error) => malformedInput(method, `the request is not JSON-encodable (${error.reason._tag})`))
        )
        const names = yield* FiberRef.get(Headers.currentRedactedNames)
        const details: RequestDetails = {
          method: "POST",
          url: request.url,
          urlParams: [],
          hash: Option.none(),
          headers: redactedRecord(request.headers, names)
        }
        const response = yield* httpClient.execute(request).pipe(
          Effect.mapError((error) => fromClientError(method, details, names, error))
        )
        if (response.status < 200 || response.status >= 300) {
          return yield* statusError(method, details, names, response)
        }
        const assembler = makeAssembler(method)
        let sawDone = false
        const events = Wire.sseData(response.stream).pipe(
          Stream.mapError((error): AiError.AiError =>
            error._tag === "SseEventTooLarge"
              ? new AiError.MalformedOutput({ module: moduleName, method, description: error.message })
              : requestError(
                method,
                details,
                `the connection was lost while the response streamed: ${causeMessage(error.cause ?? error)}`,
                error.cause
              )
          ),
          Stream.takeUntil((data) => data === Wire.doneMarker),
          // Each event gives parts or an error; the parts decoded before an error in the same read are still
          // emitted, then the stream fails (no later event is decoded).
          Stream.mapChunks((chunk) => {
            const out: Array<Either.Either<Response.StreamPartEncoded, AiError.AiError>> = []
            const parts: Array<Response.StreamPartEncoded> = []
            const fail = (error: AiError.AiError) => {
              out.push(...parts.map((part) => Either.right(part)), Either.left(error))
              return Chunk.unsafeFromArray(out)
            }
            for (const data of chunk) {
              if (data === Wire.doneMarker) {
                sawDone = true
                continue
              }
              const event = Schema.decodeEither(Wire.StreamEvent)(data)
              if (Either.isLeft(event)) {
                return fail(
                  new AiError.MalformedOutput({
                    module: moduleName,
                    method,
                    description: `a stream chunk is not a Chat Completions chunk: ${event.left.message}`
                  })
                )
              }
              if (Wire.isErrorEvent(event.right)) return fail(eventError(method, details, names, response, event.right))
              const error = assembler.onChunk(event.right, parts)
              if (error !== undefined) return fail(error)
            }
            return Chunk.unsafeFromArray(parts.map((part) => Either.right(part)))
          }),
          Stream.takeUntil(Either.isLeft),
          Stream.mapEffect(identity)
        )
        const end = Stream.suspend(() =>
          Either.match(assembler.onEnd(sawDone), {
            onLeft: (error) => Stream.fail(error),
            onRight: (parts) => Stream.fromIterable(parts)
          })
        )
        return Stream.concat(events, end)
      }))

    const generateChat = (
      model: string,
      options: LanguageModel.ProviderOptions,
      method: string
    ): Effect.Effect<Array<Response.PartEncoded>, AiError.AiError> =>
      Stream.runCollect(streamChat(model, options, method)).pipe(
        Effect.map((parts) => {
          let text: string | undefined
          const out: Array<Response.PartEncoded> = []
          for (const part of Chunk.toReadonlyArray(parts)) {
            if (part.type === "text-delta") text = (text ?? "") + part.delta
            else if (part.type === "tool-call" || part.type === "finish" || part.type === "response-metadata") {
              out.push(part)
            }
          }
          return text === undefined ? out : [{ type: "text", text }, ...out]
        })
      )

    return {
      languageModel: (model) =>
        Runtime.runSync(runtime)(LanguageModel.make({
          generateText: (options) => generateChat(model, options, "generateText"),
          streamText: (options) => streamChat(model, options, "streamText")
        })),
      // What `streamText` above decodes, for the agents to decode with their cached schema.
      rawStream: (model) => (options) => streamChat(model, options, "streamText")
    }
  })

/** Reads at most `maxBytes` of a body as UTF-8 text; a body that fails to read gives the empty string. */
const readBounded = <E>(body: Stream.Stream<Uint8Array, E>, maxBytes: number): Effect.Effect<string> =>
  body.pipe(
    Stream.runFoldWhile(
      { bytes: new Uint8Array(0) },
      (state) => state.bytes.length < maxBytes,
      (state, piece) => {
        const room = maxBytes - state.bytes.length
        const next = new Uint8Array(state.bytes.length + Math.min(room, piece.length))
        next.set(state.bytes)
        next.set(piece.subarray(0, room), state.bytes.length)
        return { bytes: next }
      }
    ),
    Effect.map((state) => new TextDecoder().decode(state.bytes)),
    Effect.orElseSucceed(() => "")
  )

const causeMessage = (cause: unknown): string =>
  cause instanceof Error ? cause.message : typeof cause === "string" ? cause : "unknown cause"
