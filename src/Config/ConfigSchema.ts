/**
 * The whole `openclaw.json`, as one Schema. Every field has a default, so an empty file (or no
 * file) is a valid configuration; unknown keys are refused when decoding (see `ConfigLoader`).
 * Cross-field rules live here too, so `config validate` and the gateway agree on what is valid.
 * Each field's `description` (and `default`, where it is static) ends up in the JSON Schema
 * that editors use (see `ConfigJsonSchema`), so the docs live in one place.
 */
import { identity, Redacted, Schema } from "effect"
import * as crypto from "node:crypto"
import * as os from "node:os"
import { LogLevelName } from "../Domain/LogEntry.js"
import { Scope } from "../Domain/Principal.js"
import { ByteSize } from "./ByteSize.js"
import { Secret } from "./Secret.js"

/** A field that may be omitted, with a static default that is also documented in the JSON Schema. */
const withDefault = <S extends Schema.Schema.AnyNoContext>(
  schema: S,
  fallback: Schema.Schema.Type<S>,
  description: string
) =>
  Schema.optionalWith(schema, { default: () => fallback, exact: true }).annotations({ description, default: fallback })

/**
 * A field that may be omitted and has no default value (absent means "not set"); exact, so an
 * explicit `undefined` is refused. Written as an (identity) optional-to-optional transformation
 * because the JSON Schema generator only carries the `description` of a struct's transformed
 * properties over to the file side.
 */
const optional = <S extends Schema.Schema.AnyNoContext>(schema: S, description: string) =>
  Schema.optionalToOptional(schema, Schema.typeSchema(schema), { decode: identity, encode: identity }).annotations({
    description
  })

/** A nested section that may be omitted: decoding `{}` gives its defaults. */
const section = <S extends Schema.Schema.AnyNoContext>(schema: S, description: string) =>
  Schema.optionalWith(schema, { default: () => Schema.decodeUnknownSync(schema)({}), exact: true }).annotations({
    description
  })

const Millis = Schema.Int.pipe(Schema.nonNegative()).annotations({ title: "milliseconds" })
const PositiveMillis = Schema.Int.pipe(Schema.positive()).annotations({ title: "milliseconds" })

/** The agents this gateway knows how to run. */
export const KnownAgent = Schema.Literal("codex", "subagent")
export type KnownAgent = typeof KnownAgent.Type

/** A named credential of `gateway.auth.tokens`. */
export const NamedToken = Schema.Struct({
  name: Schema.String.pipe(Schema.pattern(/^[A-Za-z0-9._-]{1,64}$/)).annotations({
    description: "The principal's name (letters, digits, `.`, `_`, `-`), used in logs, quotas and session tokens."
  }),
  token: Secret.annotations({ description: "The Bearer token: a string or {\"env\": \"NAME\"}." }),
  scopes: Schema.Array(Scope).annotations({
    description: "What the token may do: \"runs:write\" (StartRun, CancelRun), \"runs:read\" (Status), \"admin\" (all)."
  }),
  quota: optional(
    Schema.Struct({
      maxConcurrentRuns: optional(
        Schema.Int.pipe(Schema.between(1, 100_000)),
        "Overrides `quotas.maxConcurrentRuns` for this principal."
      ),
      runsPerMinute: optional(
        Schema.Int.pipe(Schema.between(1, 1_000_000)),
        "Overrides `quotas.runsPerMinute` for this principal."
      )
    }),
    "Per-principal overrides of `quotas`. Default none."
  )
})
export type NamedToken = typeof NamedToken.Type

export const GatewaySection = Schema.Struct({
  port: withDefault(
    Schema.Int.pipe(Schema.between(0, 65535)),
    18789,
    "TCP port of the HTTP + WebSocket listener; 0 picks a free port. Default 18789."
  ),
  bind: withDefault(
    Schema.String.pipe(Schema.minLength(1)),
    "127.0.0.1",
    "Address to listen on; a non-loopback address requires `auth.token`. Default \"127.0.0.1\"."
  ),
  auth: section(
    Schema.Struct({
      token: optional(
        Secret,
        "The Bearer token clients present on the WebSocket upgrade: a string or {\"env\": \"NAME\"}; it is the " +
          "principal \"default\" with every scope. Default: none, in which case a loopback gateway without `tokens` " +
          "generates one at start and writes it to `tokenFile`."
      ),
      tokens: withDefault(
        Schema.Array(NamedToken),
        [],
        "Further Bearer tokens, each its own principal with its own scopes (and optionally quotas). Default none."
      ),
      tokenFile: optional(
        Schema.String.pipe(Schema.minLength(1)),
        "Where a generated token is written (mode 0600) and where the CLI looks for it."
      )
    }).pipe(
      Schema.filter((auth) => {
        const names = auth.tokens.map((token) => token.name)
        if (auth.token !== undefined) names.push("default")
        const duplicate = names.find((name, index) => names.indexOf(name) !== index)
        if (duplicate !== undefined) {
          return {
            path: ["tokens"],
            message: `token name "${duplicate}" is used twice` +
              (duplicate === "default" ? " (\"default\" is the name of `token`)" : "")
          }
        }
        const values = auth.tokens.map((token) => Redacted.value(token.token))
        if (auth.token !== undefined) values.push(Redacted.value(auth.token))
        return new Set(values).size === values.length ||
          { path: ["tokens"], message: "two tokens have the same value: each principal needs its own" }
      })
    ),
    "How clients authenticate the WebSocket upgrade."
  ),
  tls: optional(
    Schema.Struct({
      cert: Schema.String.pipe(Schema.minLength(1)).annotations({ description: "PEM certificate (chain) file." }),
      key: Schema.String.pipe(Schema.minLength(1)).annotations({ description: "PEM private key file." })
    }),
    "Serve wss:// and https:// with this certificate and key (files, PEM). Default: plain ws:// and http://."
  ),
  shutdownGraceMs: withDefault(
    Millis,
    5000,
    "How long shutdown waits for runs to finish before cancelling them, in ms. Default 5000."
  )
})

export const CodexSection = Schema.Struct({
  transport: withDefault(
    Schema.Literal("websocket", "http"),
    "websocket",
    "Default transport of the CLI and client: \"websocket\" (default) or \"http\"."
  ),
  streaming: withDefault(Schema.Boolean, true, "Stream tokens as they are produced. Default true."),
  maxMessageSize: withDefault(
    ByteSize,
    100 * 1024 * 1024,
    "Largest inbound WebSocket frame (bytes, or a size such as \"100MB\"); bigger frames close the connection " +
      "with 1009. Default \"100MB\"."
  ),
  keepAliveInterval: withDefault(
    PositiveMillis,
    30_000,
    "Interval of the RPC-level ping of the typed client, in ms. Default 30000."
  )
})

export const AcpSection = Schema.Struct({
  defaultAgent: withDefault(KnownAgent, "codex", "Agent used when a run names none; must be in `allowedAgents`."),
  allowedAgents: withDefault(
    Schema.Array(KnownAgent),
    ["codex", "subagent"],
    "Agents clients may start. Default [\"codex\", \"subagent\"]."
  ),
  codex: section(CodexSection, "The codex agent's transport and limits.")
}).pipe(
  Schema.filter((acp) =>
    acp.allowedAgents.includes(acp.defaultAgent) || {
      path: ["defaultAgent"],
      message: `defaultAgent "${acp.defaultAgent}" must be one of allowedAgents (${
        acp.allowedAgents.map((agent) => JSON.stringify(agent)).join(", ") || "empty"
      })`
    }
  )
)

export const ThreadPoolSection = Schema.Struct({
  maxThreads: Schema.optionalWith(Schema.Int.pipe(Schema.between(1, 1024)), {
    default: () => os.availableParallelism(),
    exact: true
  }).annotations({
    description: "Most runs executing at once. Default: the number of CPU cores (more than that is allowed, with a " +
      "warning)."
  }),
  minThreads: withDefault(
    Schema.Int.pipe(Schema.between(0, 1024)),
    1,
    "Threads kept warm even when idle; at most `maxThreads`. Default 1."
  ),
  idleTimeout: withDefault(
    Millis,
    30_000,
    "A thread above the minimum idle this long is retired, in ms. Default 30000."
  ),
  queueSize: withDefault(
    Schema.Int.pipe(Schema.between(0, 1_000_000)),
    100,
    "Most runs waiting for a thread; the next is refused with `QueueFull`. Default 100."
  )
}).pipe(
  Schema.filter((pool) =>
    pool.minThreads <= pool.maxThreads || {
      path: ["minThreads"],
      message: `minThreads (${pool.minThreads}) must not exceed maxThreads (${pool.maxThreads})`
    }
  )
)

export const ThreadLimitsSection = Schema.Struct({
  heapMb: withDefault(
    // Below 64 MB a worker dies while starting up (measured), so smaller values are refused here.
    Schema.Int.pipe(Schema.between(64, 65_536)),
    512,
    "Old-generation heap limit of each worker thread, in MB (at least 64). A run that exceeds it fails with " +
      "`ThreadOutOfMemory` and its thread is replaced. Default 512."
  ),
  cpuTimeMs: withDefault(
    PositiveMillis,
    300_000,
    "CPU time one run may use on its thread, in ms, sampled from the main thread; over it the thread is " +
      "terminated and the run fails with `CpuQuotaExceeded`. Default 300000 (5 minutes)."
  )
})

export const AgentsSection = Schema.Struct({
  threadPool: section(
    Schema.extend(
      ThreadPoolSection,
      Schema.Struct({ limits: section(ThreadLimitsSection, "Per-thread quotas enforced from the main thread.") })
    ),
    "The worker threads that run thread-bound agent runs."
  ),
  workspaceRoot: optional(
    Schema.String.pipe(Schema.minLength(1)),
    "Directory under which each run gets its own workspace. Default: the system temporary directory."
  ),
  maxSteps: withDefault(
    Schema.Int.pipe(Schema.between(1, 100)),
    8,
    "Most model turns of one agent run (each turn may call tools). Default 8."
  ),
  maxSubagentDepth: withDefault(
    Schema.Int.pipe(Schema.between(0, 8)),
    2,
    "How deep subagents may spawn subagents; 0 disables `spawn_subagent`. Default 2."
  )
})

export const QuotasSection = Schema.Struct({
  maxConcurrentRuns: withDefault(
    Schema.Int.pipe(Schema.between(1, 100_000)),
    32,
    "Runs one principal (token) may have active at once; the next is refused with `QuotaExceeded`. Default 32."
  ),
  runsPerMinute: withDefault(
    Schema.Int.pipe(Schema.between(1, 1_000_000)),
    600,
    "Runs one principal may start per minute; more are refused with `QuotaExceeded` saying when to retry. " +
      "Default 600."
  )
})

export const WebSocketSecuritySection = Schema.Struct({
  enabled: withDefault(
    Schema.Boolean,
    true,
    "Authenticate WebSocket clients; off is only accepted on loopback. Default true."
  ),
  handshakeAuth: withDefault(
    Schema.Literal("BearerToken"),
    "BearerToken",
    "How the upgrade is authenticated. Default \"BearerToken\"."
  ),
  messageAuth: withDefault(
    Schema.Literal("JWT"),
    "JWT",
    "How each message is authenticated: a session JWT issued by `Connect`. Default \"JWT\"."
  ),
  heartbeatInterval: withDefault(
    PositiveMillis,
    15_000,
    "Interval of the gateway's WebSocket pings, in ms; a peer missing two pongs is dropped. Default 15000."
  ),
  allowedOrigins: withDefault(
    Schema.Array(Schema.String.pipe(Schema.pattern(/^https?:\/\/[^/\s]+$/))),
    [],
    "Browser origins (e.g. \"https://app.example.com\") allowed to open the WebSocket; an upgrade with any " +
      "other Origin header is refused with 403 (cross-site WebSocket hijacking). Clients that send no Origin " +
      "(CLI, servers) are not affected. Default none."
  ),
  maxConnections: withDefault(
    Schema.Int.pipe(Schema.between(1, 1_000_000)),
    1024,
    "Most WebSocket connections at once; more are refused with 503 at the upgrade. Default 1024."
  ),
  maxConnectionsPerPrincipal: withDefault(
    Schema.Int.pipe(Schema.between(1, 1_000_000)),
    256,
    "Most connections of one principal (token) at once; more are refused with 429 at the upgrade. Default 256."
  ),
  maxStreamsPerConnection: withDefault(
    Schema.Int.pipe(Schema.between(1, 100_000)),
    64,
    "Most requests in flight on one connection (streams included); more fail at once. Default 64."
  ),
  maxMessagesPerSecond: withDefault(
    Schema.Int.pipe(Schema.between(1, 1_000_000)),
    500,
    "Inbound messages one connection may send per second (Acks included); past it the connection is closed with " +
      "1008. Default 500."
  ),
  maxBufferedBytes: withDefault(
    ByteSize,
    16 * 1024 * 1024,
    "Outbound bytes a connection may leave unread; a client that stops reading is closed with 1008 rather than " +
      "growing the gateway's memory. Default \"16MB\"."
  ),
  handshakeTimeoutMs: withDefault(
    PositiveMillis,
    10_000,
    "Longest time a new TCP connection may take to send its HTTP request (an upgrade included). Default 10000."
  )
})

/** Asymmetric JWS algorithms an external issuer may use: never `none`, never a shared-secret `HS*`. */
export const IssuerAlgorithm = Schema.Literal(
  "RS256",
  "RS384",
  "RS512",
  "PS256",
  "PS384",
  "PS512",
  "ES256",
  "ES384",
  "ES512",
  "EdDSA"
)
export type IssuerAlgorithm = typeof IssuerAlgorithm.Type

/** The algorithms a public key can verify, so a PEM that does not fit `algorithms` is refused at load. */
const algorithmsOfKey = (key: crypto.KeyObject): ReadonlyArray<IssuerAlgorithm> => {
  switch (key.asymmetricKeyType) {
    case "rsa":
      return ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512"]
    case "rsa-pss":
      return ["PS256", "PS384", "PS512"]
    case "ed25519":
      return ["EdDSA"]
    case "ec": {
      const curve = key.asymmetricKeyDetails?.namedCurve
      if (curve === "prime256v1") return ["ES256"]
      if (curve === "secp384r1") return ["ES384"]
      return curve === "secp521r1" ? ["ES512"] : []
    }
    default:
      return []
  }
}

const isLoopbackHost = (host: string): boolean =>
  host === "localhost" || host === "[::1]" || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host)

/** An identity provider whose JWTs are accepted as the Bearer credential of the WebSocket upgrade. */
export const ExternalIssuer = Schema.Struct({
  name: Schema.String.pipe(Schema.pattern(/^[A-Za-z0-9._-]{1,64}$/)).annotations({
    description: "Short name of the issuer (letters, digits, `.`, `_`, `-`); its principals are `<name>:<sub>`."
  }),
  issuer: Schema.String.pipe(Schema.minLength(1)).annotations({
    description: "The `iss` a token must carry, exactly (e.g. \"https://login.example.com/\")."
  }),
  audience: Schema.String.pipe(Schema.minLength(1)).annotations({
    description: "The `aud` a token must carry (one of its audiences)."
  }),
  jwksUrl: optional(
    Schema.String.pipe(
      Schema.filter((value) => {
        if (!URL.canParse(value)) return "not a URL"
        const url = new URL(value)
        return url.protocol === "https:" || (url.protocol === "http:" && isLoopbackHost(url.hostname)) ||
          "must be https:// (plain http:// only on loopback)"
      })
    ),
    "URL of the issuer's JWKS (fetched on demand, cached). Exactly one of `jwksUrl` and `publicKey`."
  ),
  publicKey: optional(
    Schema.String.pipe(
      Schema.filter((pem) => {
        try {
          const key = crypto.createPublicKey({ key: pem, format: "pem" })
          return key.type === "public" || "not a public key"
        } catch {
          return "not a PEM public key (-----BEGIN PUBLIC KEY-----, SPKI)"
        }
      })
    ),
    "The issuer's public key, PEM (SPKI). Exactly one of `jwksUrl` and `publicKey`."
  ),
  jwksTimeoutMs: withDefault(
    Schema.Int.pipe(Schema.between(100, 60_000)),
    5000,
    "Timeout of a JWKS fetch, in ms; an upgrade waiting on it is refused when it passes. Default 5000."
  ),
  algorithms: withDefault(
    Schema.NonEmptyArray(IssuerAlgorithm),
    ["RS256"],
    "Algorithms a token of this issuer may be signed with (asymmetric only). Default [\"RS256\"]."
  ),
  scopes: Schema.Array(Scope).annotations({
    description: "The most a token of this issuer may get: its scope claim is intersected with this list."
  }),
  scopeClaim: withDefault(
    Schema.String.pipe(Schema.minLength(1)),
    "scope",
    "Claim holding the token's scopes: a space-separated string or an array of strings. Default \"scope\"."
  )
}).pipe(
  Schema.filter((issuer) => {
    if ((issuer.jwksUrl === undefined) === (issuer.publicKey === undefined)) {
      return { path: ["jwksUrl"], message: "set exactly one of jwksUrl and publicKey" }
    }
    if (issuer.publicKey === undefined) return true
    const expected = algorithmsOfKey(crypto.createPublicKey({ key: issuer.publicKey, format: "pem" }))
    const unusable = issuer.algorithms.filter((algorithm) => !expected.includes(algorithm))
    return unusable.length === 0 || {
      path: ["algorithms"],
      message: `the publicKey cannot verify ${unusable.join(", ")}: it fits ${expected.join(", ") || "no algorithm"}`
    }
  })
)
export type ExternalIssuer = typeof ExternalIssuer.Type

export const JwtSection = Schema.Struct({
  secret: optional(
    Secret,
    "HS256 key for session tokens: a string or {\"env\": \"NAME\"}. Default: a random key generated at each start."
  ),
  ttlSeconds: withDefault(
    Schema.Int.pipe(Schema.between(1, 86_400)),
    900,
    "Lifetime of a session token, in seconds; the client calls `Connect` again before it ends. Default 900."
  ),
  clockSkewSeconds: withDefault(
    Schema.Int.pipe(Schema.between(0, 300)),
    30,
    "Tolerance of `exp` and `nbf` checks on session tokens and external issuers' tokens, in seconds. Default 30."
  ),
  issuers: withDefault(
    Schema.Array(ExternalIssuer).pipe(
      Schema.filter((issuers) => {
        const names = issuers.map((issuer) => issuer.name)
        const name = names.find((value, index) => names.indexOf(value) !== index)
        if (name !== undefined) {
          return { path: [names.lastIndexOf(name)], message: `issuer name "${name}" is used twice` }
        }
        const values = issuers.map((issuer) => issuer.issuer)
        const iss = values.find((value, index) => values.indexOf(value) !== index)
        return iss === undefined ||
          { path: [values.lastIndexOf(iss)], message: `issuer "${iss}" is configured twice: each iss needs one entry` }
      })
    ),
    [],
    "Identity providers whose JWTs are accepted as the upgrade's Bearer credential instead of a gateway token. " +
      "Default none."
  )
})

export const SecuritySection = Schema.Struct({
  websocket: section(WebSocketSecuritySection, "Authentication of WebSocket clients."),
  jwt: section(JwtSection, "Session tokens issued by `Connect`.")
})

const ToolCallScript = Schema.Struct({
  name: Schema.String.pipe(Schema.minLength(1)).annotations({ description: "Name of the tool to call." }),
  params: withDefault(Schema.Unknown, {}, "Parameters of the call. Default {}.")
})

const MockFailure = Schema.Struct({
  afterTokens: Schema.Int.pipe(Schema.nonNegative()).annotations({ description: "Tokens produced before failing." }),
  status: optional(Schema.Int, "HTTP-like status of the failure. Default none."),
  message: withDefault(Schema.String, "scripted mock failure", "Message of the failure.")
})

export const MockProviderSection = Schema.Struct({
  model: withDefault(
    Schema.String.pipe(Schema.minLength(1)),
    "mock-1",
    "Model name the mock answers to (`mock/<model>`). Default \"mock-1\"."
  ),
  reply: optional(Schema.String, "Fixed reply text. Default: a deterministic reply that quotes the prompt."),
  firstTokenDelayMs: withDefault(Millis, 100, "Delay before the first token, in ms. Default 100."),
  tokenDelayMs: withDefault(Millis, 20, "Delay between tokens, in ms. Default 20."),
  toolCalls: withDefault(
    Schema.Array(ToolCallScript),
    [],
    "Tool calls the mock asks for after its text, once per run. Default none."
  ),
  fail: optional(MockFailure, "A scripted provider failure after this many tokens. Default none.")
})

/** Connection behaviour shared by the real providers. */
const providerConnection = {
  connectTimeoutMs: withDefault(
    PositiveMillis,
    30_000,
    "Longest wait for the provider's first stream event (response headers and first chunk), in ms. Default 30000."
  ),
  idleTimeoutMs: withDefault(
    PositiveMillis,
    60_000,
    "Longest silence between two stream events once streaming, in ms. Default 60000."
  ),
  maxRetries: withDefault(
    Schema.Int.pipe(Schema.between(0, 10)),
    3,
    "Retries on 429, 5xx and connection resets, with jittered exponential back-off honouring Retry-After, only " +
      "before the first token (streamed tokens are never repeated). Default 3."
  )
}

const BaseUrl = Schema.String.pipe(Schema.pattern(/^https?:\/\/[^\s]+$/)).annotations({ title: "http(s) URL" })

export const OpenAiProviderSection = Schema.Struct({
  apiKey: optional(Secret, "API key: a string or {\"env\": \"OPENAI_API_KEY\"}. Runs on this provider are refused without one."),
  baseUrl: withDefault(
    BaseUrl,
    "https://api.openai.com/v1",
    "API base URL; any OpenAI-compatible server (vLLM, llama.cpp, Ollama, LiteLLM) works. " +
      "Default \"https://api.openai.com/v1\"."
  ),
  model: withDefault(Schema.String.pipe(Schema.minLength(1)), "gpt-4o-mini", "Model used for `openai` runs that name none."),
  api: withDefault(
    Schema.Literal("chat", "responses"),
    "chat",
    "\"chat\" (Chat Completions, what compatible servers speak) or \"responses\" (the Responses API). Default \"chat\"."
  ),
  ...providerConnection
})

export const AnthropicProviderSection = Schema.Struct({
  apiKey: optional(Secret, "API key: a string or {\"env\": \"ANTHROPIC_API_KEY\"}. Runs on this provider are refused without one."),
  baseUrl: withDefault(BaseUrl, "https://api.anthropic.com", "API base URL. Default \"https://api.anthropic.com\"."),
  model: withDefault(
    Schema.String.pipe(Schema.minLength(1)),
    "claude-sonnet-4-5",
    "Model used for `anthropic` runs that name none."
  ),
  maxTokens: withDefault(Schema.Int.pipe(Schema.between(1, 1_000_000)), 4096, "max_tokens of each request. Default 4096."),
  ...providerConnection
})

export const ModelsSection = Schema.Struct({
  default: optional(
    Schema.String.pipe(Schema.pattern(/^[a-z0-9-]+\/.+$/)).annotations({ title: "provider/model" }),
    "`provider/model` used when a run names none; its provider must be configured in `providers`. Default: the " +
      "first real provider with an API key (openai, then anthropic), else \"mock/mock-1\"."
  ),
  providers: section(
    Schema.Struct({
      mock: section(MockProviderSection, "The deterministic mock provider: always available, needs no key."),
      openai: optional(OpenAiProviderSection, "OpenAI, or any OpenAI-compatible server through `baseUrl`."),
      anthropic: optional(AnthropicProviderSection, "Anthropic's Messages API.")
    }),
    "LLM providers, by name."
  )
}).pipe(
  Schema.filter((models) => {
    if (models.default === undefined) return true
    const provider = models.default.slice(0, models.default.indexOf("/"))
    return Object.hasOwn(models.providers, provider) || {
      path: ["default"],
      message: `provider "${provider}" is not configured in models.providers (configured: ${
        Object.keys(models.providers).map((name) => JSON.stringify(name)).join(", ")
      })`
    }
  })
)

export const RunsSection = Schema.Struct({
  defaultTimeoutMs: withDefault(
    PositiveMillis,
    600_000,
    "Timeout of a run that sets none, in ms. Default 600000 (10 minutes)."
  ),
  eventBuffer: withDefault(
    Schema.Int.pipe(Schema.between(1, 1_000_000)),
    1024,
    "Events a run may buffer while its client is slow to read; the run then waits. Default 1024."
  ),
  eventBufferBytes: withDefault(
    ByteSize,
    1024 * 1024,
    "Bytes of events (text, command output, tool results) a run may buffer while its client is slow to read; the " +
      "run then waits. Default \"1MB\"."
  ),
  tokenFlushMs: withDefault(
    Schema.Int.pipe(Schema.between(0, 1_000)),
    0,
    "Token deltas that arrive together are always sent as one `TokenDelta`. A positive value also waits this many " +
      "ms after each sent delta, so the tokens arriving meanwhile go out together: fewer, larger events (less CPU " +
      "and fewer bytes per token) for up to this much added latency. The first token is never held. Default 0."
  )
})

export const LoggingSection = Schema.Struct({
  level: withDefault(
    LogLevelName,
    "info",
    "Least severe level logged: \"trace\", \"debug\", \"info\" (default), \"warning\", \"error\" or \"fatal\". " +
      "`openclaw gateway --log-level` overrides it."
  ),
  format: withDefault(
    Schema.Literal("auto", "json", "pretty"),
    "auto",
    "Lines on stdout: \"json\" (one JSON object per line, for log shippers), \"pretty\" (for people), or \"auto\" " +
      "(default): pretty on a terminal, JSON otherwise."
  ),
  ringSize: withDefault(
    Schema.Int.pipe(Schema.between(100, 1_000_000)),
    2000,
    "Recent entries kept in memory for `openclaw gateway logs`. Default 2000."
  )
})

export const TelemetrySection = Schema.Struct({
  serviceName: withDefault(
    Schema.String.pipe(Schema.minLength(1)),
    "openclaw-gateway",
    "`service.name` of the exported traces and metrics. Default \"openclaw-gateway\"."
  ),
  otlp: optional(
    Schema.Struct({
      endpoint: BaseUrl.annotations({
        description: "OTLP/HTTP collector root, e.g. \"http://127.0.0.1:4318\"; traces go to /v1/traces, metrics to /v1/metrics."
      }),
      headers: withDefault(
        Schema.Record({ key: Schema.String, value: Schema.String }),
        {},
        "Extra request headers (e.g. an API key of a hosted collector). Default none."
      ),
      exportIntervalMs: withDefault(PositiveMillis, 10_000, "How often metrics are exported, in ms. Default 10000.")
    }),
    "Export traces and metrics by OTLP/HTTP (JSON). Default: off, at no cost."
  ),
  prometheus: withDefault(
    Schema.Boolean,
    false,
    "Serve the metrics in Prometheus text format at GET /metrics (on the gateway's port). Default false."
  )
})

export const OpenclawConfig = Schema.Struct({
  $schema: optional(Schema.String, "Editors' JSON Schema reference; ignored by the gateway."),
  gateway: section(GatewaySection, "The HTTP + WebSocket listener."),
  acp: section(AcpSection, "Agents clients may run, and how they talk to them."),
  agents: section(AgentsSection, "Where agent runs execute."),
  security: section(SecuritySection, "Authentication of clients and sessions."),
  models: section(ModelsSection, "LLM providers and the default model."),
  runs: section(RunsSection, "Limits of a single run."),
  quotas: section(QuotasSection, "Per-principal limits on runs."),
  logging: section(LoggingSection, "The gateway's log: level, format, the in-memory ring `gateway logs` reads."),
  telemetry: section(TelemetrySection, "Traces and metrics: OTLP export and a Prometheus endpoint, both off by default.")
}).annotations({
  identifier: "OpenclawConfig",
  title: "openclaw.json",
  description: "Configuration of the openclaw gateway. Every key is optional."
})

export type OpenclawConfig = typeof OpenclawConfig.Type
export type OpenAiProviderSection = typeof OpenAiProviderSection.Type
export type AnthropicProviderSection = typeof AnthropicProviderSection.Type

/** The model of runs that name none: `models.default`, else the first real provider with a key, else the mock. */
export const defaultModelOf = (config: OpenclawConfig): string => {
  const { default: explicit, providers } = config.models
  if (explicit !== undefined) return explicit
  if (providers.openai?.apiKey !== undefined) return `openai/${providers.openai.model}`
  if (providers.anthropic?.apiKey !== undefined) return `anthropic/${providers.anthropic.model}`
  return `mock/${providers.mock.model}`
}
export type OpenclawConfigInput = typeof OpenclawConfig.Encoded
