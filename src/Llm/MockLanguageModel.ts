/**
 * The deterministic mock provider: an `@effect/ai` `LanguageModel` that scripts text, tool calls and failures. It
 * scripts an agent loop too: the configured tool calls are asked for on the first turn only (a prompt without tool
 * results); a later turn answers with text alone, so a run with scripted tool calls ends after two turns.
 */
import * as AiError from "@effect/ai/AiError"
import * as LanguageModel from "@effect/ai/LanguageModel"
import type * as Prompt from "@effect/ai/Prompt"
import type * as Response from "@effect/ai/Response"
import { Chunk, type Clock, Duration, Effect, Layer, Option, Stream } from "effect"
import type { MockProviderSection } from "../Config/ConfigSchema.js"

export type MockConfig = typeof MockProviderSection.Type

/** Longest slice of the prompt the default reply quotes, so a huge prompt does not make a huge reply. */
const maxQuotedPrompt = 200

/** Splits text into word tokens, each keeping the whitespace that follows it: `tokens.join("") === text`. */
export const tokenize = (text: string): ReadonlyArray<string> => text.match(/^\s+$|(?:^\s+)?\S+\s*/g) ?? []

const countWords = (text: string): number => text.match(/\S+/g)?.length ?? 0

/** The text of every text part of the prompt, in order (system, user, assistant and tool messages alike). */
export const promptText = (prompt: Prompt.Prompt): string => {
  const texts: Array<string> = []
  for (const message of prompt.content) {
    if (message.role === "system") {
      texts.push(message.content)
      continue
    }
    for (const part of message.content) {
      if (part.type === "text") texts.push(part.text)
    }
  }
  return texts.join("\n")
}

/** The reply of a mock without a configured `reply`: quotes the prompt, several sentences so a demo shows streaming. */
export const defaultReply = (prompt: string): string => {
  const oneLine = prompt.replace(/\s+/g, " ").trim()
  const quoted = oneLine.length > maxQuotedPrompt ? `${oneLine.slice(0, maxQuotedPrompt)}...` : oneLine
  return `Mock reply to "${quoted}": this answer comes from the deterministic mock model. ` +
    "It streams word by word, so a client can watch the tokens arrive. " +
    "No real model was called and no network was used."
}

/** The tool results the prompt carries (the agent loop's earlier turns), in order. */
export const toolResults = (prompt: Prompt.Prompt): ReadonlyArray<Prompt.ToolResultPart> =>
  prompt.content.flatMap((message) => message.role === "tool" ? message.content : [])

/** The reply of a mock without a configured `reply` once tools answered: quotes each result, bounded. */
export const replyAfterTools = (results: ReadonlyArray<Prompt.ToolResultPart>): string => {
  const quoted = results.map((part) => {
    const json = JSON.stringify(part.result) ?? "undefined"
    const bounded = json.length > maxQuotedPrompt ? `${json.slice(0, maxQuotedPrompt)}...` : json
    return `${part.name}${part.isFailure ? " (failed)" : ""}: ${bounded}`
  })
  return `Mock reply after ${results.length} tool result${results.length === 1 ? "" : "s"}: ${quoted.join("; ")}. ` +
    "No real model was called and no network was used."
}

const textId = "mock-text-0"

const failure = (config: MockConfig, model: string): AiError.AiError | undefined => {
  if (config.fail === undefined) return undefined
  const description = config.fail.message
  return config.fail.status === undefined
    ? new AiError.UnknownError({ module: "MockLanguageModel", method: "streamText", description })
    : new AiError.HttpResponseError({
      module: "MockLanguageModel",
      method: "streamText",
      reason: "StatusCode",
      description,
      request: { method: "POST", url: `mock://mock/${model}`, urlParams: [], hash: Option.none(), headers: {} },
      response: { status: config.fail.status, headers: {} }
    })
}

/** One call's scripted parts, encoded (what `LanguageModel.make` decodes), with when each is due and how it ends. */
interface Script {
  readonly parts: ReadonlyArray<Response.StreamPartEncoded>
  /** Part `index` is due this many ms after the call began: the start at once, the parts after the text with it. */
  readonly dueAt: (index: number) => number
  /** The configured failure, after the parts. */
  readonly error: AiError.AiError | undefined
}

const script = (config: MockConfig, options: LanguageModel.ProviderOptions): Script => {
  const prompt = promptText(options.prompt)
  const results = toolResults(options.prompt)
  const firstTurn = results.length === 0
  const tokens = tokenize(config.reply ?? (firstTurn ? defaultReply(prompt) : replyAfterTools(results)))
  const toolCalls = firstTurn ? config.toolCalls : []
  const error = failure(config, config.model)
  const emitted = error === undefined ? tokens : tokens.slice(0, config.fail?.afterTokens ?? tokens.length)

  const parts: Array<Response.StreamPartEncoded> = [{ type: "text-start", id: textId }]
  for (const delta of emitted) parts.push({ type: "text-delta", id: textId, delta })
  const lastToken = parts.length - 1
  if (error === undefined) {
    parts.push({ type: "text-end", id: textId })
    toolCalls.forEach((call, index) => {
      parts.push({ type: "tool-call", id: `mock-call-${index}`, name: call.name, params: call.params })
    })
    const inputTokens = countWords(prompt)
    parts.push({
      type: "finish",
      reason: toolCalls.length > 0 ? "tool-calls" : "stop",
      usage: { inputTokens, outputTokens: emitted.length, totalTokens: inputTokens + emitted.length }
    })
  }
  const dueAt = (index: number) =>
    index === 0 ? 0 : config.firstTokenDelayMs + (Math.min(index, lastToken) - 1) * config.tokenDelayMs
  return { parts, dueAt, error }
}

/**
 * A script's pacing, like a real provider's: part `i` is due `dueAt(i)` after the first step, whether or not the
 * reader keeps up, and each step takes every part already due as one batch (`undefined` once all are taken). A reader
 * that falls behind gets the tokens that arrived meanwhile together (as from a real provider's socket buffer), not one
 * wake-up per token. The time and the sleeps come from the call's `Clock` (read once per call, not per step), so
 * the TestClock drives them.
 */
const pacing = (
  { dueAt, parts }: Script,
  clock: Clock.Clock
): Effect.Effect<ReadonlyArray<Response.StreamPartEncoded> | undefined> => {
  let next = 0
  let startedAt: number | undefined
  /** Takes the parts due by now, and at least the next one once its sleep is over (see `step`). */
  const take = (sleptUntil: number) => {
    const elapsed = Math.max(clock.unsafeCurrentTimeMillis() - (startedAt ?? 0), sleptUntil)
    const from = next
    while (next < parts.length && dueAt(next) <= elapsed) next++
    return parts.slice(from, next)
  }
  const step: Effect.Effect<ReadonlyArray<Response.StreamPartEncoded> | undefined> = Effect.suspend(() => {
    if (next === parts.length) return Effect.succeed(undefined)
    const now = clock.unsafeCurrentTimeMillis()
    startedAt ??= now
    const due = dueAt(next)
    const wait = due - (now - startedAt)
    // A timer's delay is counted from the event loop's cached time, in whole milliseconds, and the clock is read
    // afresh: the clock may say a part is still a fraction of a millisecond short when its timer fires. Its sleep is
    // over, so it is due: reading the clock again would sleep a millisecond more, a delay no provider adds.
    if (wait > 0) return Effect.map(clock.sleep(Duration.millis(wait)), () => take(due))
    return Effect.succeed(take(0))
  })
  return step
}

/** The scripted parts for one call as a Stream (what the mock's `LanguageModel` decodes): one stage. */
export const streamParts = (
  config: MockConfig,
  options: LanguageModel.ProviderOptions
): Stream.Stream<Response.StreamPartEncoded, AiError.AiError> =>
  Stream.unwrap(Effect.clockWith((clock) => {
    const call = script(config, options)
    const step = pacing(call, clock)
    return Effect.succeed(Stream.repeatEffectChunkOption(Effect.flatMap(step, (parts) =>
      parts !== undefined
        ? Effect.succeed(Chunk.unsafeFromArray(parts))
        : Effect.fail(call.error === undefined ? Option.none() : Option.some(call.error)))))
  }))

/** The same parts handed to `onParts` batch by batch (the registry's `RawParts`, what the agents read). */
export const pushParts = <E>(
  config: MockConfig,
  options: LanguageModel.ProviderOptions,
  onParts: (parts: ReadonlyArray<Response.StreamPartEncoded>) => Effect.Effect<unknown, E>
): Effect.Effect<void, AiError.AiError | E> =>
  Effect.clockWith((clock) => {
    const call = script(config, options)
    const step = pacing(call, clock)
    const loop: Effect.Effect<void, AiError.AiError | E> = Effect.flatMap(step, (parts) =>
      parts !== undefined
        ? Effect.zipRight(onParts(parts), loop)
        : call.error === undefined
        ? Effect.void
        : Effect.fail(call.error))
    return loop
  })

/** The whole response at once: the streamed parts with the text deltas joined into one text part. */
const generateParts = (
  config: MockConfig,
  options: LanguageModel.ProviderOptions
): Effect.Effect<Array<Response.PartEncoded>, AiError.AiError> =>
  Stream.runCollect(streamParts(config, options)).pipe(
    Effect.map((chunk) => {
      let text = ""
      const rest: Array<Response.PartEncoded> = []
      for (const part of Chunk.toReadonlyArray(chunk)) {
        if (part.type === "text-delta") text += part.delta
        else if (part.type === "tool-call" || part.type === "finish") rest.push(part)
      }
      return [{ type: "text", text }, ...rest]
    })
  )

/** A mock `LanguageModel.Service`; it keeps no state between calls, so one instance serves every run. */
export const make = (config: MockConfig): Effect.Effect<LanguageModel.Service> =>
  LanguageModel.make({
    generateText: (options) => generateParts(config, options),
    streamText: (options) => streamParts(config, options)
  })

export const layer = (config: MockConfig): Layer.Layer<LanguageModel.LanguageModel> =>
  Layer.effect(LanguageModel.LanguageModel, make(config))
