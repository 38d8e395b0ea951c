/**
 * A fake OpenAI Responses API on loopback for provider tests: the shared scripted server (FakeSseServer) replaying
 * Responses streaming events (`event:` and `data:` lines, as in OpenAI's streaming documentation), each shaped to
 * decode with `@effect/ai-openai`'s `ResponseStreamEvent` schemas. The client skips an event that does not decode
 * without a word, so a malformed fake could hide in a passing test: the provider test decodes every scripted event.
 */
import { Effect, type Scope } from "effect"
import { sseEvent } from "./FakeAnthropic.js"
import { eventStream, type FakeServer, jsonReply, type Reply, serve, type Step } from "./FakeSseServer.js"

export * from "./FakeSseServer.js"

/** A Responses event: `type` and `sequence_number` added (numbered from 0 in the order the builders are called). */
export interface Sequencer {
  readonly event: (type: string, fields: Readonly<Record<string, unknown>>) => Step
}

export const sequencer = (): Sequencer => {
  let next = 0
  return { event: (type, fields) => sseEvent(type, { type, sequence_number: next++, ...fields }) }
}

export const responseObject = (options: {
  readonly id?: string
  readonly model?: string
  readonly status: "in_progress" | "completed" | "failed"
  readonly output?: ReadonlyArray<unknown>
  readonly usage?: { readonly inputTokens: number; readonly outputTokens: number }
  readonly error?: { readonly code: string; readonly message: string }
}) => ({
  id: options.id ?? "resp_fake",
  object: "response",
  created_at: 1741290958,
  status: options.status,
  error: options.error ?? null,
  incomplete_details: null,
  instructions: null,
  max_output_tokens: null,
  model: options.model ?? "gpt-test",
  output: options.output ?? [],
  parallel_tool_calls: true,
  previous_response_id: null,
  reasoning: { effort: null, summary: null },
  store: true,
  temperature: 1,
  text: { format: { type: "text" } },
  tool_choice: "auto",
  tools: [],
  top_p: 1,
  truncation: "disabled",
  usage: options.usage === undefined ? null : {
    input_tokens: options.usage.inputTokens,
    input_tokens_details: { cached_tokens: 0 },
    output_tokens: options.usage.outputTokens,
    output_tokens_details: { reasoning_tokens: 0 },
    total_tokens: options.usage.inputTokens + options.usage.outputTokens
  },
  user: null,
  metadata: {}
})

export const messageItem = (id: string, text: string, status: "in_progress" | "completed") => ({
  id,
  type: "message",
  status,
  role: "assistant",
  content: status === "in_progress" ? [] : [{ type: "output_text", text, annotations: [] }]
})

export const functionCallItem = (
  call: { readonly id: string; readonly callId: string; readonly name: string },
  args: string,
  status: "in_progress" | "completed"
) => ({ id: call.id, type: "function_call", status, arguments: args, call_id: call.callId, name: call.name })

export const created = (seq: Sequencer) =>
  seq.event("response.created", { response: responseObject({ status: "in_progress" }) })

export const inProgress = (seq: Sequencer) =>
  seq.event("response.in_progress", { response: responseObject({ status: "in_progress" }) })

export const completed = (
  seq: Sequencer,
  usage: { readonly inputTokens: number; readonly outputTokens: number },
  output: ReadonlyArray<unknown> = []
) => seq.event("response.completed", { response: responseObject({ status: "completed", usage, output }) })

export const failed = (seq: Sequencer, code: string, message: string) =>
  seq.event("response.failed", { response: responseObject({ status: "failed", error: { code, message } }) })

export const errorEvent = (seq: Sequencer, code: string, message: string) =>
  seq.event("error", { code, message, param: null })

/** A message item: added, content part added, one `output_text.delta` per piece, done events. */
export const message = (
  seq: Sequencer,
  options: { readonly id: string; readonly outputIndex: number; readonly pieces: ReadonlyArray<string> }
): ReadonlyArray<Step> => {
  const text = options.pieces.join("")
  const at = { output_index: options.outputIndex }
  const part = { item_id: options.id, ...at, content_index: 0 }
  return [
    seq.event("response.output_item.added", { ...at, item: messageItem(options.id, "", "in_progress") }),
    seq.event("response.content_part.added", { ...part, part: { type: "output_text", text: "", annotations: [] } }),
    ...options.pieces.map((delta) => seq.event("response.output_text.delta", { ...part, delta, logprobs: [] })),
    seq.event("response.output_text.done", { ...part, text, logprobs: [] }),
    seq.event("response.content_part.done", { ...part, part: { type: "output_text", text, annotations: [] } }),
    seq.event("response.output_item.done", { ...at, item: messageItem(options.id, text, "completed") })
  ]
}

/** A function call item: added, one `function_call_arguments.delta` per fragment, done events. */
export const functionCall = (
  seq: Sequencer,
  options: {
    readonly id: string
    readonly callId: string
    readonly name: string
    readonly outputIndex: number
    readonly fragments: ReadonlyArray<string>
  }
): ReadonlyArray<Step> => {
  const args = options.fragments.join("")
  const at = { output_index: options.outputIndex }
  return [
    seq.event("response.output_item.added", { ...at, item: functionCallItem(options, "", "in_progress") }),
    ...options.fragments.map((delta) =>
      seq.event("response.function_call_arguments.delta", { ...at, item_id: options.id, delta })
    ),
    seq.event("response.function_call_arguments.done", { ...at, item_id: options.id, arguments: args }),
    seq.event("response.output_item.done", { ...at, item: functionCallItem(options, args, "completed") })
  ]
}

/** A whole text turn. */
export const textReply = (
  pieces: ReadonlyArray<string>,
  usage: { readonly inputTokens: number; readonly outputTokens: number } = { inputTokens: 25, outputTokens: 15 }
): Reply => {
  const seq = sequencer()
  return eventStream([
    created(seq),
    inProgress(seq),
    ...message(seq, { id: "msg_fake", outputIndex: 0, pieces }),
    completed(seq, usage)
  ])
}

/** A turn asking for one function call, after a short message. */
export const functionCallReply = (call: {
  readonly callId: string
  readonly name: string
  readonly fragments: ReadonlyArray<string>
  readonly text?: string
}): Reply => {
  const seq = sequencer()
  return eventStream([
    created(seq),
    inProgress(seq),
    ...message(seq, { id: "msg_fake", outputIndex: 0, pieces: [call.text ?? "Let me do that."] }),
    ...functionCall(seq, { id: "fc_fake", outputIndex: 1, ...call }),
    completed(seq, { inputTokens: 30, outputTokens: 40 })
  ])
}

/** An error status with OpenAI's JSON error body. */
export const errorReply = (
  status: number,
  type: string,
  message: string,
  headers: Readonly<Record<string, string>> = {}
): Reply => jsonReply(status, { error: { message, type, param: null, code: null } }, headers)

/** A fake OpenAI server: `baseUrl` is what `OpenAiResponsesProvider.make` takes (`<origin>/v1`). */
export const make: Effect.Effect<FakeServer & { readonly baseUrl: string }, never, Scope.Scope> = Effect.map(
  serve,
  (server) => ({ ...server, baseUrl: `${server.origin}/v1` })
)
