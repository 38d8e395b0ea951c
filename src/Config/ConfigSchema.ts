/**
 * The whole `openclaw.json`, as one Schema. Every field has a default, so an empty file (or no
 * file) is a valid configuration; unknown keys are refused when decoding (see `ConfigLoader`).
 * Cross-field rules live here too, so `config validate` and the gateway agree on what is valid.
 */
import { Schema } from "effect"
import * as os from "node:os"
import { ByteSize } from "./ByteSize.js"
import { Secret } from "./Secret.js"

/** A nested section that may be omitted: decoding `{}` gives its defaults. */
const section = <S extends Schema.Schema.AnyNoContext>(schema: S) =>
  Schema.optionalWith(schema, { default: () => Schema.decodeUnknownSync(schema)({}), exact: true })

const Millis = Schema.Int.pipe(Schema.nonNegative()).annotations({ title: "milliseconds" })
const PositiveMillis = Schema.Int.pipe(Schema.positive()).annotations({ title: "milliseconds" })

/** The agents this gateway knows how to run. */
export const KnownAgent = Schema.Literal("codex", "subagent")
export type KnownAgent = typeof KnownAgent.Type

export const GatewaySection = Schema.Struct({
  /** TCP port of the HTTP + WebSocket listener. Default 18789; 0 picks a free port. */
  port: Schema.optionalWith(Schema.Int.pipe(Schema.between(0, 65535)), { default: () => 18789, exact: true }),
  /** Address to listen on. Default "127.0.0.1"; a non-loopback address requires `auth.token`. */
  bind: Schema.optionalWith(Schema.String.pipe(Schema.minLength(1)), { default: () => "127.0.0.1", exact: true }),
  auth: section(Schema.Struct({
    /**
     * The Bearer token clients present on the WebSocket upgrade. Default: none, in which case a
     * loopback gateway generates one at start and writes it to `tokenFile`.
     */
    token: Schema.optionalWith(Secret, { exact: true }),
    /** Where a generated token is written (mode 0600) and where the CLI looks for it. */
    tokenFile: Schema.optional(Schema.String.pipe(Schema.minLength(1)))
  })),
  /** How long shutdown waits for runs to finish before cancelling them. Default 5000 ms. */
  shutdownGraceMs: Schema.optionalWith(Millis, { default: () => 5000, exact: true })
})

export const CodexSection = Schema.Struct({
  /** Default transport of the CLI and client: "websocket" (default) or "http". */
  transport: Schema.optionalWith(Schema.Literal("websocket", "http"), { default: () => "websocket", exact: true }),
  /** Stream tokens as they are produced (default true). */
  streaming: Schema.optionalWith(Schema.Boolean, { default: () => true, exact: true }),
  /** Largest inbound WebSocket frame; bigger frames close the connection with 1009. Default "100MB". */
  maxMessageSize: Schema.optionalWith(ByteSize, { default: () => 100 * 1024 * 1024, exact: true }),
  /** Interval of the RPC-level ping of the typed client, in ms. Default 30000. */
  keepAliveInterval: Schema.optionalWith(PositiveMillis, { default: () => 30_000, exact: true })
})

export const AcpSection = Schema.Struct({
  /** Agent used when a run names none. Default "codex". */
  defaultAgent: Schema.optionalWith(KnownAgent, { default: () => "codex", exact: true }),
  /** Agents clients may start. Default ["codex", "subagent"]. */
  allowedAgents: Schema.optionalWith(Schema.Array(KnownAgent), { default: () => ["codex", "subagent"], exact: true }),
  codex: section(CodexSection)
}).pipe(
  Schema.filter((acp) =>
    acp.allowedAgents.includes(acp.defaultAgent) || {
      path: ["defaultAgent"],
      message: `defaultAgent "${acp.defaultAgent}" must be one of allowedAgents (${acp.allowedAgents.join(", ")})`
    }
  )
)

export const ThreadPoolSection = Schema.Struct({
  /** Most runs executing at once. Default: the number of CPU cores. */
  maxThreads: Schema.optionalWith(Schema.Int.pipe(Schema.between(1, 1024)), {
    default: () => os.availableParallelism(),
    exact: true
  }),
  /** Threads kept warm even when idle. Default 1. */
  minThreads: Schema.optionalWith(Schema.Int.pipe(Schema.between(0, 1024)), { default: () => 1, exact: true }),
  /** A thread above the minimum idle this long is retired, in ms. Default 30000. */
  idleTimeout: Schema.optionalWith(Millis, { default: () => 30_000, exact: true }),
  /** Most runs waiting for a thread; the next is refused with `QueueFull`. Default 100. */
  queueSize: Schema.optionalWith(Schema.Int.pipe(Schema.between(0, 1_000_000)), { default: () => 100, exact: true })
}).pipe(
  Schema.filter((pool) =>
    pool.minThreads <= pool.maxThreads || {
      path: ["minThreads"],
      message: `minThreads (${pool.minThreads}) must not exceed maxThreads (${pool.maxThreads})`
    }
  )
)

export const AgentsSection = Schema.Struct({
  threadPool: section(ThreadPoolSection)
})

export const SecuritySection = Schema.Struct({
  websocket: section(Schema.Struct({
    /** Authenticate WebSocket clients (default true). Off is only accepted on loopback. */
    enabled: Schema.optionalWith(Schema.Boolean, { default: () => true, exact: true }),
    /** How the upgrade is authenticated. */
    handshakeAuth: Schema.optionalWith(Schema.Literal("BearerToken"), { default: () => "BearerToken", exact: true }),
    /** How each message is authenticated: a session JWT issued by `Connect`. */
    messageAuth: Schema.optionalWith(Schema.Literal("JWT"), { default: () => "JWT", exact: true }),
    /** Interval of the gateway's WebSocket pings, in ms; a peer missing two pongs is dropped. Default 15000. */
    heartbeatInterval: Schema.optionalWith(PositiveMillis, { default: () => 15_000, exact: true })
  })),
  jwt: section(Schema.Struct({
    /** HS256 key for session tokens. Default: a random key generated at each start. */
    secret: Schema.optionalWith(Secret, { exact: true }),
    /** Lifetime of a session token, in seconds. Default 900. */
    ttlSeconds: Schema.optionalWith(Schema.Int.pipe(Schema.between(10, 86_400)), { default: () => 900, exact: true })
  }))
})

const ToolCallScript = Schema.Struct({
  name: Schema.String.pipe(Schema.minLength(1)),
  params: Schema.optionalWith(Schema.Unknown, { default: () => ({}), exact: true })
})

export const MockProviderSection = Schema.Struct({
  /** Model name the mock answers to (`mock/<model>`). Default "mock-1". */
  model: Schema.optionalWith(Schema.String.pipe(Schema.minLength(1)), { default: () => "mock-1", exact: true }),
  /** Fixed reply text. Default: a deterministic reply that quotes the prompt. */
  reply: Schema.optionalWith(Schema.String, { exact: true }),
  /** Delay before the first token, in ms. Default 100. */
  firstTokenDelayMs: Schema.optionalWith(Millis, { default: () => 100, exact: true }),
  /** Delay between tokens, in ms. Default 20. */
  tokenDelayMs: Schema.optionalWith(Millis, { default: () => 20, exact: true }),
  /** Tool calls the mock asks for after its text, once per run. Default none. */
  toolCalls: Schema.optionalWith(Schema.Array(ToolCallScript), { default: () => [], exact: true }),
  /** A scripted provider failure after this many tokens. Default none. */
  fail: Schema.optional(Schema.Struct({
    afterTokens: Schema.Int.pipe(Schema.nonNegative()),
    status: Schema.optional(Schema.Int),
    message: Schema.optionalWith(Schema.String, { default: () => "scripted mock failure", exact: true })
  }))
})

export const ModelsSection = Schema.Struct({
  /** `provider/model` used when a run names none. Default "mock/mock-1". */
  default: Schema.optionalWith(Schema.String.pipe(Schema.pattern(/^[a-z0-9-]+\/.+$/)), {
    default: () => "mock/mock-1",
    exact: true
  }),
  providers: section(Schema.Struct({
    /** The deterministic mock provider: always available, needs no key. */
    mock: section(MockProviderSection)
  }))
}).pipe(
  Schema.filter((models) => {
    const provider = models.default.slice(0, models.default.indexOf("/"))
    return provider in models.providers || {
      path: ["default"],
      message: `models.default names provider "${provider}", which is not configured in models.providers`
    }
  })
)

export const RunsSection = Schema.Struct({
  /** Timeout of a run that sets none, in ms. Default 600000 (10 minutes). */
  defaultTimeoutMs: Schema.optionalWith(PositiveMillis, { default: () => 600_000, exact: true }),
  /** Events a run may buffer while its client is slow to read; the run then waits. Default 1024. */
  eventBuffer: Schema.optionalWith(Schema.Int.pipe(Schema.between(1, 1_000_000)), { default: () => 1024, exact: true })
})

export const OpenclawConfig = Schema.Struct({
  /** Editors' JSON Schema reference; ignored by the gateway. */
  $schema: Schema.optionalWith(Schema.String, { exact: true }),
  gateway: section(GatewaySection),
  acp: section(AcpSection),
  agents: section(AgentsSection),
  security: section(SecuritySection),
  models: section(ModelsSection),
  runs: section(RunsSection)
}).annotations({ identifier: "OpenclawConfig", title: "openclaw.json" })

export type OpenclawConfig = typeof OpenclawConfig.Type
export type OpenclawConfigInput = typeof OpenclawConfig.Encoded
