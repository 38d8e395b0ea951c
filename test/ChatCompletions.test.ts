/**
 * The OpenAI-compatible `POST /v1/chat/completions` over loopback, driven by the official `openai` client (non-stream,
 * stream, agents as models, every refusal as the client's typed error, cancellation by abort) and by raw `fetch` for
 * the exact SSE framing and the refusals the client's types would not let us send.
 */
import { Effect, Either, Schema } from "effect"
import OpenAI from "openai"
import { describe, expect, it } from "vitest"
import type { RunsSnapshot } from "../src/Agents/RunSupervisor.js"
import { InvalidRequest, QueueFull, RunCancelled, RunTimedOut, WorkerCrashed } from "../src/Domain/RunError.js"
import { BearerRejected, PayloadTooLarge } from "../src/Domain/HttpWire.js"
import { RunId } from "../src/Domain/Ids.js"
import { errorStatusOf, openAiErrorBody, promptOf } from "../src/Gateway/ChatCompletions.js"
import { ChatMessage, ModelNotFound, UnsupportedParameter } from "../src/Gateway/ChatCompletionsWire.js"
import { StreamEvent } from "../src/Llm/OpenAiChatWire.js"
import { defaultReply, tokenize } from "../src/Llm/MockLanguageModel.js"
import { type TestGateway, useGateway } from "./support/TestGateway.js"

const mainToken = "chat-test-main-token"
const limitedToken = "chat-test-limited-token"
const readerToken = "chat-test-reader-token"
const maxBodyBytes = 64 * 1024

const auth = {
  token: mainToken,
  tokens: [
    { name: "limited", token: limitedToken, scopes: ["runs:write"], quota: { runsPerMinute: 1 } },
    { name: "reader", token: readerToken, scopes: ["runs:read"] }
  ]
}

const client = (gateway: TestGateway, options: { readonly apiKey?: string; readonly mode?: string } = {}) =>
  new OpenAI({
    baseURL: `http://127.0.0.1:${gateway.port}/v1`,
    apiKey: options.apiKey ?? mainToken,
    maxRetries: 0,
    ...(options.mode === undefined ? {} : { defaultHeaders: { "x-openclaw-run-mode": options.mode } })
  })

const post = (gateway: TestGateway, body: string, headers: Record<string, string> = {}) =>
  fetch(`http://127.0.0.1:${gateway.port}/v1/chat/completions`, {
    method: "POST",
    headers: { authorization: `Bearer ${mainToken}`, "content-type": "application/json", ...headers },
    body
  })

const snapshot = (gateway: TestGateway): Promise<RunsSnapshot> => Effect.runPromise(gateway.supervisor.snapshot)

/** Polls until `done` holds, failing after `timeoutMs` with the last value seen. */
const eventually = async <A>(probe: () => Promise<A>, done: (value: A) => boolean, timeoutMs = 5000): Promise<A> => {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const value = await probe()
    if (done(value)) return value
    if (Date.now() > deadline) throw new Error(`still not there after ${timeoutMs} ms: ${JSON.stringify(value)}`)
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
}

/** The error a promise rejects with (the test fails if it resolves). */
const rejection = async (promise: Promise<unknown>): Promise<unknown> => {
  const settled = await promise.then(() => Either.right("resolved"), (error: unknown) => Either.left(error))
  if (Either.isRight(settled)) throw new Error("expected a rejection")
  return settled.left
}

const user = (content: string) => ({ role: "user", content }) as const

describe("POST /v1/chat/completions with the official openai client", () => {
  const gateway = useGateway({ gateway: { auth }, acp: { codex: { maxMessageSize: maxBodyBytes } } })

  it("answers a chat.completion whose message is the agent's reply, ignoring sampling fields", async () => {
    const completion = await client(gateway()).chat.completions.create({
      model: "openclaw",
      messages: [user("Hello gateway")],
      temperature: 0.2,
      top_p: 0.9,
      max_tokens: 100,
      max_completion_tokens: 100,
      presence_penalty: 0,
      frequency_penalty: 0,
      seed: 7,
      stop: ["\n\n\n"],
      user: "someone",
      n: 1
    })
    expect(completion.object).toBe("chat.completion")
    expect(completion.id).toMatch(/^chatcmpl-[0-9a-f-]{36}$/)
    expect(completion.model).toBe("openclaw")
    expect(Math.abs(completion.created - Date.now() / 1000)).toBeLessThan(60)
    expect(completion.choices).toHaveLength(1)
    expect(completion.choices[0]?.message).toMatchObject({ role: "assistant", content: defaultReply("Hello gateway") })
    expect(completion.choices[0]?.finish_reason).toBe("stop")
    const usage = completion.usage
    expect(usage?.prompt_tokens).toBeGreaterThan(0)
    expect(usage?.completion_tokens).toBeGreaterThan(0)
    expect(usage?.total_tokens).toBe((usage?.prompt_tokens ?? 0) + (usage?.completion_tokens ?? 0))
  })

  it("streams the reply as content deltas: role first, stop, then the usage chunk", async () => {
    const stream = await client(gateway()).chat.completions.create({
      model: "openclaw",
      messages: [user("Stream to me")],
      stream: true,
      stream_options: { include_usage: true }
    })
    const chunks: Array<OpenAI.Chat.Completions.ChatCompletionChunk> = []
    for await (const chunk of stream) chunks.push(chunk)
    const content = chunks.map((chunk) => chunk.choices[0]?.delta.content ?? "").join("")
    expect(content).toBe(defaultReply("Stream to me"))
    expect(chunks[0]?.choices[0]?.delta.role).toBe("assistant")
    expect(new Set(chunks.map((chunk) => chunk.id)).size).toBe(1)
    expect(chunks.every((chunk) => chunk.object === "chat.completion.chunk" && chunk.model === "openclaw")).toBe(true)
    const finishes = chunks.flatMap((chunk) => chunk.choices.map((choice) => choice.finish_reason))
    expect(finishes.filter((reason) => reason !== null)).toEqual(["stop"])
    const last = chunks.at(-1)
    expect(last?.choices).toEqual([])
    expect(last?.usage?.total_tokens).toBeGreaterThan(0)
    expect(chunks.slice(0, -1).every((chunk) => chunk.usage === null)).toBe(true)
  })

  it("runs inline when x-openclaw-run-mode says so", async () => {
    const completion = await client(gateway(), { mode: "inline" }).chat.completions.create({
      model: "openclaw/codex",
      messages: [user("inline please")]
    })
    expect(completion.choices[0]?.message.content).toBe(defaultReply("inline please"))
    expect(completion.model).toBe("openclaw/codex")
  })

  it("gives the agent the conversation: instructions, earlier turns, the message to answer", async () => {
    const completion = await client(gateway()).chat.completions.create({
      model: "openclaw",
      messages: [
        { role: "system", content: "Be brief." },
        user("Hi"),
        { role: "assistant", content: "Hello!" },
        { role: "user", content: [{ type: "text", text: "What now?" }] }
      ]
    })
    const prompt = "Instructions:\nBe brief.\n\nThe conversation so far:\n[user] Hi\n[assistant] Hello!\n\n" +
      "The user's message to answer now:\nWhat now?"
    expect(completion.choices[0]?.message.content).toBe(defaultReply(prompt))
  })

  it("lists the agents as models", async () => {
    const models = await client(gateway()).models.list()
    expect(models.data.map((model) => model.id)).toEqual(["openclaw", "openclaw/codex", "openclaw/subagent"])
  })

  it("refuses an unknown model with NotFoundError (model_not_found)", async () => {
    for (const model of ["gpt-4o", "openclaw/nobody", "openclaw/"]) {
      const error = await rejection(client(gateway()).chat.completions.create({ model, messages: [user("hi")] }))
      expect(error).toBeInstanceOf(OpenAI.NotFoundError)
      expect(error).toMatchObject({
        status: 404,
        code: "model_not_found",
        param: "model",
        type: "invalid_request_error"
      })
    }
  })

  it("refuses a wrong key with AuthenticationError (401, invalid_api_key)", async () => {
    const error = await rejection(
      client(gateway(), { apiKey: "not-the-token" }).chat.completions.create({
        model: "openclaw",
        messages: [user("hi")]
      })
    )
    expect(error).toBeInstanceOf(OpenAI.AuthenticationError)
    expect(error).toMatchObject({ status: 401, code: "invalid_api_key", type: "authentication_error" })
    expect(error instanceof OpenAI.APIError && error.headers?.get("www-authenticate")).toContain("Bearer")
  })

  it("refuses a credential without runs:write with PermissionDeniedError (403)", async () => {
    const error = await rejection(
      client(gateway(), { apiKey: readerToken }).chat.completions.create({ model: "openclaw", messages: [user("hi")] })
    )
    expect(error).toBeInstanceOf(OpenAI.PermissionDeniedError)
    expect(error).toMatchObject({ status: 403, code: "forbidden", type: "permission_error" })
  })

  it("refuses a run over the principal's quota with RateLimitError and Retry-After", async () => {
    const limited = client(gateway(), { apiKey: limitedToken })
    await limited.chat.completions.create({ model: "openclaw", messages: [user("first")] })
    const error = await rejection(limited.chat.completions.create({ model: "openclaw", messages: [user("second")] }))
    expect(error).toBeInstanceOf(OpenAI.RateLimitError)
    expect(error).toMatchObject({ status: 429, code: "rate_limit_exceeded", type: "rate_limit_error" })
    const retryAfter = error instanceof OpenAI.APIError ? Number(error.headers?.get("retry-after")) : 0
    expect(retryAfter).toBeGreaterThanOrEqual(1)
    expect(retryAfter).toBeLessThanOrEqual(60)
  })

  it("refuses what it cannot honour with BadRequestError naming the parameter", async () => {
    const openai = client(gateway())
    const refusals: ReadonlyArray<{
      readonly body: OpenAI.Chat.Completions.ChatCompletionCreateParamsNonStreaming
      readonly param: string | null
      readonly code: string
    }> = [
      { body: { model: "openclaw", messages: [] }, param: null, code: "invalid_request" },
      { body: { model: "openclaw", messages: [user("hi")], n: 2 }, param: "n", code: "unsupported_parameter" },
      {
        body: {
          model: "openclaw",
          messages: [user("hi")],
          tools: [{ type: "function", function: { name: "f", parameters: {} } }]
        },
        param: "tools",
        code: "unsupported_parameter"
      },
      {
        body: { model: "openclaw", messages: [user("hi")], response_format: { type: "json_object" } },
        param: "response_format",
        code: "unsupported_parameter"
      },
      {
        body: {
          model: "openclaw",
          messages: [{
            role: "user",
            content: [{ type: "image_url", image_url: { url: "https://example.com/cat.png" } }]
          }]
        },
        param: "messages[0].content[0]",
        code: "unsupported_parameter"
      },
      {
        body: { model: "openclaw", messages: [user("hi"), { role: "assistant", content: "Sure, " }] },
        param: "messages",
        code: "unsupported_parameter"
      }
    ]
    for (const { body, code, param } of refusals) {
      const error = await rejection(openai.chat.completions.create(body))
      expect(error, JSON.stringify(body)).toBeInstanceOf(OpenAI.BadRequestError)
      expect(error).toMatchObject({ status: 400, code, param, type: "invalid_request_error" })
    }
    const badMode = await rejection(
      client(gateway(), { mode: "sideways" }).chat.completions.create({ model: "openclaw", messages: [user("hi")] })
    )
    expect(badMode).toBeInstanceOf(OpenAI.BadRequestError)
    expect(String(badMode)).toContain("x-openclaw-run-mode")
    expect((await snapshot(gateway())).runs).toEqual([])
  })
})

describe("POST /v1/chat/completions on the wire (fetch)", () => {
  const gateway = useGateway({ gateway: { auth }, acp: { codex: { maxMessageSize: maxBodyBytes } } })

  it("frames the stream as data: chunks ending with data: [DONE], decodable by our client Schemas", async () => {
    const response = await post(
      gateway(),
      JSON.stringify({ model: "openclaw", messages: [user("frame me")], stream: true })
    )
    expect(response.status).toBe(200)
    expect(response.headers.get("content-type")).toContain("text/event-stream")
    expect(response.headers.get("cache-control")).toBe("no-cache")
    expect(response.headers.get("x-openclaw-run-id")).toMatch(/^[0-9a-f-]{36}$/)
    const text = await response.text()
    expect(text.endsWith("\n\ndata: [DONE]\n\n")).toBe(true)
    const frames = text.slice(0, -2).split("\n\n")
    expect(frames.at(-1)).toBe("data: [DONE]")
    // Comment lines mark the run's progress that is not content (here: waiting for a thread).
    const comments = frames.filter((frame) => frame.startsWith(":"))
    expect(comments.every((frame) => /^: [a-z_]+( [^\n]*)?$/.test(frame))).toBe(true)
    const chunks = frames.slice(0, -1).filter((frame) => !frame.startsWith(":")).map((frame) => {
      expect(frame).toMatch(/^data: \{.*\}$/)
      return Schema.decodeUnknownSync(StreamEvent)(frame.slice("data: ".length))
    })
    const id = `chatcmpl-${response.headers.get("x-openclaw-run-id")}`
    expect(chunks.every((chunk) => !("error" in chunk) && chunk.id === id && chunk.usage === undefined)).toBe(true)
    expect(JSON.parse(frames[0]?.slice(6) ?? "")).toMatchObject({
      object: "chat.completion.chunk",
      model: "openclaw",
      choices: [{ index: 0, delta: { role: "assistant", content: "" }, logprobs: null, finish_reason: null }]
    })
    expect(JSON.parse(frames.at(-2)?.slice(6) ?? "")).toMatchObject({
      choices: [{ index: 0, delta: {}, logprobs: null, finish_reason: "stop" }]
    })
  })

  it("accepts unknown fields in the body and in messages (OpenAI adds fields; servers must not refuse)", async () => {
    const response = await post(
      gateway(),
      JSON.stringify({
        model: "openclaw",
        messages: [{ role: "user", content: "tolerate", some_new_field: true }],
        store: false,
        metadata: { a: "b" },
        parallel_tool_calls: true,
        reasoning_effort: "low",
        a_field_from_the_future: { nested: [1, 2, 3] }
      })
    )
    expect(response.status).toBe(200)
    const completion: unknown = await response.json()
    expect(completion).toMatchObject({ choices: [{ message: { content: defaultReply("tolerate") } }] })
  })

  it("answers a body over the size limit with 413 in OpenAI's error shape", async () => {
    const response = await post(
      gateway(),
      JSON.stringify({ model: "openclaw", messages: [user("x".repeat(maxBodyBytes))] })
    )
    expect(response.status).toBe(413)
    expect(await response.json()).toEqual({
      error: {
        message: `the request body is larger than ${maxBodyBytes} bytes (acp.codex.maxMessageSize)`,
        type: "invalid_request_error",
        param: null,
        code: "payload_too_large"
      }
    })
  })

  it("answers what is not JSON, or not a chat request, with 400 in OpenAI's error shape", async () => {
    for (
      const body of [
        "{not json",
        JSON.stringify({ messages: [user("no model")] }),
        JSON.stringify({ model: "openclaw", messages: [{ role: "robot", content: "hi" }] }),
        // A tag the schema's union decode throws on, rather than refuses.
        JSON.stringify({ model: "openclaw", messages: [{ role: { toString: false }, content: "hi" }] }),
        JSON.stringify({ model: "openclaw", messages: [user("hi")], temperature: "hot" })
      ]
    ) {
      const response = await post(gateway(), body)
      expect(response.status, body).toBe(400)
      const answer: unknown = await response.json()
      expect(answer).toMatchObject({ error: { type: "invalid_request_error", code: "invalid_request", param: null } })
    }
  })
})

describe("POST /v1/chat/completions while a run is under way", () => {
  const gateway = useGateway({
    gateway: { auth },
    models: { providers: { mock: { firstTokenDelayMs: 0, tokenDelayMs: 40 } } }
  })

  it("runs openclaw/<agent> as that agent", async () => {
    const stream = await client(gateway()).chat.completions.create({
      model: "openclaw/subagent",
      messages: [user("as a subagent")],
      stream: true
    })
    let content = ""
    let agents: ReadonlyArray<string> = []
    for await (const chunk of stream) {
      const delta = chunk.choices[0]?.delta.content ?? ""
      if (content === "" && delta !== "") agents = (await snapshot(gateway())).runs.map((run) => run.agent)
      content += delta
    }
    expect(agents).toEqual(["subagent"])
    expect(content).toBe(defaultReply("as a subagent"))
  })

  it("cancels the run when the client aborts the stream", async () => {
    const before = await snapshot(gateway())
    const abort = new AbortController()
    const stream = await client(gateway()).chat.completions.create(
      { model: "openclaw", messages: [user("abort me")], stream: true },
      { signal: abort.signal }
    )
    let deltas = 0
    // The client's stream ends quietly once its signal is aborted.
    for await (const chunk of stream) {
      if ((chunk.choices[0]?.delta.content ?? "") === "") continue
      deltas++
      expect((await snapshot(gateway())).runs).toHaveLength(1)
      abort.abort()
    }
    expect(deltas).toBe(1)
    const after = await eventually(() => snapshot(gateway()), (now) => now.runs.length === 0)
    expect(after.failed).toBe(before.failed + 1)
    expect(after.completed).toBe(before.completed)
  })
})

describe("POST /v1/chat/completions when the agent uses tools", () => {
  const gateway = useGateway({
    gateway: { auth },
    models: {
      providers: {
        mock: { reply: "Checking.", toolCalls: [{ name: "shell", params: { command: "echo from-the-tool" } }] }
      }
    }
  })

  it("the content is the model's text of every turn, streamed or not; tool work is only SSE comments", async () => {
    const messages = [user("use a tool")]
    const completion = await client(gateway()).chat.completions.create({ model: "openclaw", messages })
    expect(completion.choices[0]?.message.content).toBe("Checking.\n\nChecking.")

    const response = await post(gateway(), JSON.stringify({ model: "openclaw", messages, stream: true }))
    const text = await response.text()
    expect(text).toContain("\n\n: tool_call shell\n\n")
    expect(text).toContain("\n\n: tool_result shell ok\n\n")
    expect(text).not.toContain("from-the-tool")
    const content = text.split("\n\n").flatMap((frame) => {
      if (!frame.startsWith("data: {")) return []
      const chunk = Schema.decodeUnknownSync(StreamEvent)(frame.slice("data: ".length))
      return "error" in chunk ? [] : chunk.choices.map((choice) => choice.delta?.content ?? "")
    }).join("")
    expect(content).toBe(completion.choices[0]?.message.content)
  })
})

describe("POST /v1/chat/completions when the thread pool is full", () => {
  const gateway = useGateway({
    gateway: { auth },
    agents: { threadPool: { maxThreads: 1, queueSize: 0 } },
    models: { providers: { mock: { firstTokenDelayMs: 0, tokenDelayMs: 40 } } }
  })

  it("refuses a stream with 429 and Retry-After before it starts (not a 200 stream holding the refusal)", async () => {
    const busy = await client(gateway()).chat.completions.create({
      model: "openclaw",
      messages: [user("hold the only thread")],
      stream: true
    })
    // Read to the first token without leaving the loop (leaving it would abort the stream and free the thread).
    const chunks = busy[Symbol.asyncIterator]()
    for (;;) {
      const next = await chunks.next()
      if (next.done === true || (next.value.choices[0]?.delta.content ?? "") !== "") break
    }
    const error = await rejection(
      client(gateway()).chat.completions.create({ model: "openclaw", messages: [user("no room")], stream: true })
    )
    expect(error).toBeInstanceOf(OpenAI.RateLimitError)
    expect(error).toMatchObject({ status: 429, code: "rate_limit_exceeded", type: "rate_limit_error" })
    expect(error instanceof OpenAI.APIError && Number(error.headers?.get("retry-after"))).toBeGreaterThanOrEqual(1)
    busy.controller.abort()
  })
})

describe("POST /v1/chat/completions when the model fails", () => {
  const gateway = useGateway({
    gateway: { auth },
    models: { providers: { mock: { fail: { afterTokens: 3, status: 500, message: "the model fell over" } } } }
  })

  it("answers a non-streaming request with the provider's failure as a 502 api_error", async () => {
    const error = await rejection(
      client(gateway()).chat.completions.create({ model: "openclaw", messages: [user("fail")] })
    )
    expect(error).toBeInstanceOf(OpenAI.InternalServerError)
    expect(error).toMatchObject({ status: 502, type: "api_error", code: "provider_failed" })
  })

  it("ends a stream that started with the error object as its last data frame", async () => {
    const stream = await client(gateway()).chat.completions.create({
      model: "openclaw",
      messages: [user("fail midway")],
      stream: true
    })
    let content = ""
    const error = await rejection((async () => {
      for await (const chunk of stream) content += chunk.choices[0]?.delta.content ?? ""
    })())
    expect(content).toBe(tokenize(defaultReply("fail midway")).slice(0, 3).join(""))
    expect(error).toBeInstanceOf(OpenAI.APIError)
    expect(error).toMatchObject({ type: "api_error", code: "provider_failed" })

    const response = await post(gateway(), JSON.stringify({ model: "openclaw", messages: [user("raw")], stream: true }))
    expect(response.status).toBe(200)
    const frames = (await response.text()).split("\n\n")
    expect(frames.at(-1)).toBe("")
    const last: unknown = JSON.parse(frames.at(-2)?.slice("data: ".length) ?? "")
    expect(last).toMatchObject({ error: { type: "api_error", code: "provider_failed", param: null } })
    expect(frames).not.toContain("data: [DONE]")
  })
})

describe("ChatCompletions: prompt and error mapping", () => {
  const decodeMessages = Schema.decodeUnknownSync(Schema.Array(ChatMessage))
  const prompt = (messages: unknown) => promptOf(decodeMessages(messages))

  it("a lone user message is the prompt verbatim; parts are joined by newlines", () => {
    expect(prompt([user("just this")])).toEqual(Either.right("just this"))
    expect(prompt([{ role: "user", content: [{ type: "text", text: "a" }, { type: "text", text: "b" }] }]))
      .toEqual(Either.right("a\nb"))
  })

  it("instructions wherever they stand, tool calls and results kept in the transcript, named speakers", () => {
    const built = prompt([
      user("What is the weather?"),
      { role: "developer", content: "Use metric units." },
      {
        role: "assistant",
        content: null,
        tool_calls: [
          { id: "call_1", type: "function", function: { name: "weather", arguments: "{\"city\":\"Oslo\"}" } }
        ]
      },
      { role: "tool", tool_call_id: "call_1", content: "4 degrees" },
      { role: "assistant", content: "It is 4 degrees." },
      { role: "system", content: "Be kind." },
      { role: "user", name: "ada", content: "Thanks! And tomorrow?" }
    ])
    expect(built).toEqual(Either.right(
      "Instructions:\nUse metric units.\n\nBe kind.\n\n" +
        "The conversation so far:\n[user] What is the weather?\n" +
        "[assistant] called tool weather({\"city\":\"Oslo\"}) as call_1\n" +
        "[tool result of call_1] 4 degrees\n[assistant] It is 4 degrees.\n\n" +
        "The user's message to answer now:\nThanks! And tomorrow?"
    ))
  })

  it("refuses a conversation that does not end with the user, or has none", () => {
    const conversations = [
      [{ role: "system", content: "alone" }],
      [user("hi"), { role: "tool", tool_call_id: "c", content: "r" }]
    ]
    for (const messages of conversations) {
      const refused = prompt(messages)
      expect(Either.isLeft(refused) && refused.left.param).toBe("messages")
    }
  })

  it("maps every failure to OpenAI's type and code with the gateway's status", () => {
    const runId = RunId.make("r")
    const cases = [
      [new InvalidRequest({ reason: "x" }), 400, "invalid_request_error", "invalid_request"],
      [new UnsupportedParameter({ param: "n", reason: "x" }), 400, "invalid_request_error", "unsupported_parameter"],
      [new BearerRejected({ reason: "x" }), 401, "authentication_error", "invalid_api_key"],
      [new ModelNotFound({ model: "m", available: [] }), 404, "invalid_request_error", "model_not_found"],
      [new PayloadTooLarge({ limitBytes: 1 }), 413, "invalid_request_error", "payload_too_large"],
      [new QueueFull({ queueSize: 1, retryAfterMs: 1 }), 429, "rate_limit_error", "rate_limit_exceeded"],
      [new RunCancelled({ runId, reason: "shutdown" }), 503, "api_error", "run_cancelled"],
      [new RunTimedOut({ runId, timeoutMs: 1 }), 504, "api_error", "timeout"],
      [new WorkerCrashed({ runId, exitCode: 1, reason: "x" }), 500, "api_error", "worker_crashed"]
    ] as const
    for (const [error, status, type, code] of cases) {
      expect(errorStatusOf(error)).toBe(status)
      expect(openAiErrorBody(error).error).toMatchObject({ type, code, message: error.message })
    }
  })
})
