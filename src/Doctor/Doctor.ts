/**
 * `openclaw doctor`: checks a gateway's setup on this machine without needing the gateway: the config file, the
 * token file's permissions, the port, the thread pool against the cores and memory, the bind address without TLS,
 * and providers without keys. Every finding has a severity and, unless it is fine, one sentence saying how to fix it.
 */
import type { FileSystem, Path } from "@effect/platform"
import { Effect, Either, Option } from "effect"
import * as fs from "node:fs/promises"
import * as http from "node:http"
import * as https from "node:https"
import * as net from "node:net"
import * as os from "node:os"
import { isLoopbackAddress } from "../Auth/GatewayAuth.js"
import { defaultTokenFile } from "../Auth/TokenFile.js"
import { type ConfigError, loadConfig } from "../Config/ConfigLoader.js"
import { defaultModelOf, type OpenclawConfig } from "../Config/ConfigSchema.js"

export type Severity = "ok" | "warning" | "error"

export interface Finding {
  /** What was checked: config, auth, port, threads, memory, bind, providers. */
  readonly check: string
  readonly severity: Severity
  readonly message: string
  /** How to fix it; absent when the finding is `ok`. */
  readonly fix?: string
}

export interface DoctorOptions {
  /** `--config PATH`; none means the usual lookup. */
  readonly config: Option.Option<string>
  /** Default `os.availableParallelism()`. */
  readonly cores?: number
  /** Default `os.totalmem()`. */
  readonly totalMemoryBytes?: number
  /** How long a listener on the port may take to answer `GET /healthz`, in ms. Default 2000. */
  readonly healthzTimeoutMs?: number
}

const ok = (check: string, message: string): Finding => ({ check, severity: "ok", message })
const warning = (check: string, message: string, fix: string): Finding => ({ check, severity: "warning", message, fix })
const error = (check: string, message: string, fix: string): Finding => ({ check, severity: "error", message, fix })

// ---------------------------------------------------------------------------------------------
// The config file
// ---------------------------------------------------------------------------------------------

const configFixes: Record<ConfigError["reason"], string> = {
  NotFound: "Check the path given to --config or $OPENCLAW_CONFIG, or drop it to use ./openclaw.json, " +
    "~/.openclaw/openclaw.json or the embedded defaults.",
  Unreadable: "Make the file a regular file readable by the user running openclaw (chmod u+r FILE).",
  InvalidJson: "Fix the JSON syntax at the line and column shown (comments and trailing commas are not allowed).",
  InvalidConfig: "Correct each key listed (`openclaw config schema` documents every key and its type); " +
    "`openclaw config validate FILE` rechecks it."
}

// ---------------------------------------------------------------------------------------------
// Authentication and the token file
// ---------------------------------------------------------------------------------------------

const modeText = (mode: number) => `0${(mode & 0o777).toString(8)}`

const checkTokenFile = (file: string): Effect.Effect<Finding> =>
  Effect.either(Effect.tryPromise(() => fs.stat(file))).pipe(
    Effect.flatMap((result) => {
      if (Either.isLeft(result)) {
        const cause = result.left.cause
        const code = cause instanceof Error && "code" in cause ? cause.code : undefined
        return Effect.succeed(
          code === "ENOENT"
            ? warning(
              "auth",
              `no token file at ${file} yet: a loopback gateway without a configured token writes one at start`,
              "Start the gateway once (`openclaw gateway`) to generate it, or set gateway.auth.token."
            )
            : error(
              "auth",
              `cannot inspect the token file ${file}: ${cause instanceof Error ? cause.message : String(cause)}`,
              "Make its directory accessible to the user running openclaw, or set gateway.auth.tokenFile elsewhere."
            )
        )
      }
      const stat = result.right
      const uid = process.getuid?.()
      if (!stat.isFile()) {
        return Effect.succeed(error(
          "auth",
          `the token file ${file} is not a regular file`,
          `Remove ${file} and restart the gateway, which writes a new token there.`
        ))
      }
      if (uid !== undefined && stat.uid !== uid) {
        return Effect.succeed(error(
          "auth",
          `the token file ${file} is owned by uid ${stat.uid}, not by you (uid ${uid}): its owner can read or ` +
            "replace your token",
          `Run \`chown ${os.userInfo().username} ${file}\`, or remove it and restart the gateway as yourself.`
        ))
      }
      if ((stat.mode & 0o077) !== 0) {
        return Effect.succeed(error(
          "auth",
          `the token file ${file} has mode ${modeText(stat.mode)}: other users on this machine can read it and ` +
            "use the gateway as you",
          `Run \`chmod 600 ${file}\` (and consider it leaked: remove it and restart the gateway for a new token).`
        ))
      }
      if (stat.size === 0) {
        return Effect.succeed(error(
          "auth",
          `the token file ${file} is empty`,
          `Remove ${file} and restart the gateway, which writes a new token there.`
        ))
      }
      return Effect.succeed(ok("auth", `the token file ${file} has mode ${modeText(stat.mode)} and is yours`))
    })
  )

const checkAuth = (config: OpenclawConfig): Effect.Effect<Finding> => {
  const { auth, bind } = config.gateway
  const loopback = isLoopbackAddress(bind)
  if (!config.security.websocket.enabled) {
    return Effect.succeed(
      loopback
        ? warning(
          "auth",
          "authentication is off (security.websocket.enabled: false): any user or process on this machine can use " +
            "the gateway",
          "Set security.websocket.enabled to true (the default) unless this machine has a single user."
        )
        : error(
          "auth",
          `authentication is off and gateway.bind is ${bind} (not loopback): the gateway refuses to start`,
          "Set security.websocket.enabled to true, or bind to 127.0.0.1."
        )
    )
  }
  const configured = [
    ...(auth.token === undefined ? [] : ["gateway.auth.token"]),
    ...(auth.tokens.length === 0 ? [] : [`${auth.tokens.length} named token(s)`]),
    ...(config.security.jwt.issuers.length === 0 ? [] : [`${config.security.jwt.issuers.length} JWT issuer(s)`])
  ]
  if (configured.length > 0) {
    return Effect.succeed(ok("auth", `clients authenticate with ${configured.join(", ")} from the config`))
  }
  if (!loopback) {
    return Effect.succeed(error(
      "auth",
      `gateway.bind is ${bind} (not loopback) and no token is configured: the gateway refuses to start`,
      "Set gateway.auth.token (e.g. {\"env\": \"OPENCLAW_GATEWAY_TOKEN\"}), or bind to 127.0.0.1."
    ))
  }
  return checkTokenFile(auth.tokenFile ?? defaultTokenFile())
}

// ---------------------------------------------------------------------------------------------
// The port
// ---------------------------------------------------------------------------------------------

/** Tries to listen where the gateway would; the error code when it cannot. */
const tryListen = (host: string, port: number) =>
  Effect.async<Option.Option<string>>((resume) => {
    const server = net.createServer()
    server.once("error", (cause: NodeJS.ErrnoException) => resume(Effect.succeed(Option.some(cause.code ?? "EUNKNOWN"))))
    server.listen({ host, port }, () => server.close(() => resume(Effect.succeed(Option.none()))))
  })

/** What answers `GET /healthz` on the port: the gateway's version, or a description of whatever else happened. */
const askHealthz = (url: string, timeoutMs: number) =>
  Effect.async<{ readonly version: string } | { readonly other: string }>((resume) => {
    const get = url.startsWith("https:") ? https.get : http.get
    // Only identifies the listener (no credential is sent), so a self-signed certificate is acceptable here.
    const request = get(url, { timeout: timeoutMs, rejectUnauthorized: false }, (response) => {
      let body = ""
      response.setEncoding("utf8")
      response.on("data", (chunk: string) => (body += chunk.slice(0, 4096)))
      response.on("end", () => {
        const parsed = parseJson(body)
        const version = typeof parsed === "object" && parsed !== null && "status" in parsed &&
            parsed.status === "ok" && "version" in parsed && typeof parsed.version === "string"
          ? parsed.version
          : undefined
        resume(Effect.succeed(
          version !== undefined && response.statusCode === 200
            ? { version }
            : { other: `it answered GET /healthz with HTTP ${response.statusCode ?? "?"}, not as a gateway` }
        ))
      })
    })
    request.on("timeout", () => request.destroy(new Error(`no answer to GET /healthz within ${timeoutMs} ms`)))
    request.on("error", (cause) => resume(Effect.succeed({ other: cause.message })))
    return Effect.sync(() => request.destroy())
  })

const parseJson = (text: string): unknown => {
  try {
    return JSON.parse(text)
  } catch {
    return undefined
  }
}

const checkPort = (config: OpenclawConfig, file: Option.Option<string>, timeoutMs: number) =>
  Effect.gen(function*() {
    const { bind, port, tls } = config.gateway
    if (port === 0) {
      return ok("port", "gateway.port is 0: the gateway picks a free port at each start (clients need its --url)")
    }
    const where = `${bind}:${port}`
    const code = yield* tryListen(bind, port)
    if (Option.isNone(code)) return ok("port", `${where} is free`)
    const configPlace = Option.match(file, { onNone: () => "openclaw.json", onSome: (path) => path })
    const elsewhere = `choose another port (gateway.port in ${configPlace}, or \`openclaw gateway --port N\`).`
    switch (code.value) {
      case "EADDRINUSE": {
        const host = bind === "0.0.0.0" || bind === "::" ? "127.0.0.1" : bind.includes(":") ? `[${bind}]` : bind
        const answer = yield* askHealthz(`${tls === undefined ? "http" : "https"}://${host}:${port}/healthz`, timeoutMs)
        return "version" in answer
          ? ok("port", `${where} is held by a running openclaw gateway (version ${answer.version})`)
          : error(
            "port",
            `${where} is taken by another program (${answer.other})`,
            `Stop that program (\`ss -ltnp 'sport = :${port}'\` names it) or ${elsewhere}`
          )
      }
      case "EACCES":
        return error(
          "port",
          `listening on ${where} needs privileges this user lacks`,
          `Use a port above 1023: ${elsewhere}`
        )
      case "EADDRNOTAVAIL":
        return error(
          "port",
          `gateway.bind ${bind} is not an address of this machine`,
          "Set gateway.bind to 127.0.0.1 (this machine only), 0.0.0.0 (every interface) or one of its addresses."
        )
      default:
        return error("port", `cannot listen on ${where} (${code.value})`, `Check gateway.bind, or ${elsewhere}`)
    }
  })

// ---------------------------------------------------------------------------------------------
// Threads, memory, bind, providers
// ---------------------------------------------------------------------------------------------

const checkThreads = (config: OpenclawConfig, cores: number): Finding => {
  const { maxThreads } = config.agents.threadPool
  return maxThreads <= cores
    ? ok("threads", `agents.threadPool.maxThreads is ${maxThreads}, within this machine's ${cores} cores`)
    : warning(
      "threads",
      `agents.threadPool.maxThreads is ${maxThreads} but this machine has ${cores} cores: runs beyond ${cores} share ` +
        "cores, so each one is slower (and nearer its timeout) without more work done per second",
      `Set agents.threadPool.maxThreads to ${cores} or fewer (or remove it: the default is the core count); further ` +
        "runs then wait in the queue (agents.threadPool.queueSize) instead."
    )
}

const checkMemory = (config: OpenclawConfig, totalBytes: number): Finding => {
  const { limits, maxThreads } = config.agents.threadPool
  const totalMb = Math.floor(totalBytes / (1024 * 1024))
  const heapsMb = limits.heapMb * maxThreads
  if (heapsMb <= totalMb) {
    return ok("memory", `worker heaps up to ${limits.heapMb} MB x ${maxThreads} = ${heapsMb} MB of ${totalMb} MB`)
  }
  const heapMb = Math.floor((totalMb * 0.75) / maxThreads)
  return warning(
    "memory",
    `worker heaps may grow to ${limits.heapMb} MB x ${maxThreads} threads = ${heapsMb} MB, more than this machine's ` +
      `${totalMb} MB: several big runs at once can exhaust memory before any thread reaches its own limit`,
    heapMb >= 64
      ? `Lower agents.threadPool.limits.heapMb to ${heapMb} or less (or lower maxThreads).`
      : `Lower agents.threadPool.maxThreads to ${Math.max(1, Math.floor((totalMb * 0.75) / limits.heapMb))} or ` +
        "less (or lower limits.heapMb)."
  )
}

const checkBind = (config: OpenclawConfig): Finding => {
  const { bind, tls } = config.gateway
  if (isLoopbackAddress(bind)) return ok("bind", `gateway.bind is ${bind}: reachable from this machine only`)
  if (tls !== undefined) return ok("bind", `gateway.bind is ${bind}, served over TLS`)
  return warning(
    "bind",
    `gateway.bind is ${bind} (reachable from the network) without gateway.tls: tokens and runs cross the network ` +
      "in clear text",
    "Set gateway.tls.cert and gateway.tls.key, or bind to 127.0.0.1 behind a proxy that terminates TLS."
  )
}

const checkProviders = (config: OpenclawConfig): ReadonlyArray<Finding> => {
  const defaultProvider = defaultModelOf(config).split("/")[0]
  const { anthropic, openai } = config.models.providers
  const sections = [
    { name: "openai", section: openai, env: "OPENAI_API_KEY" },
    { name: "anthropic", section: anthropic, env: "ANTHROPIC_API_KEY" }
  ]
  const findings = sections.flatMap(({ env, name, section }): ReadonlyArray<Finding> => {
    if (section === undefined) return []
    if (section.apiKey !== undefined) {
      return [ok("providers", `${name} has an API key (\`openclaw status --all\` probes it from the gateway)`)]
    }
    const fix = `Set models.providers.${name}.apiKey, e.g. {"env": "${env}"}, or remove the section.`
    return [
      name === defaultProvider
        ? error("providers", `${name}, the provider of the default model, has no API key: runs fail`, fix)
        : warning("providers", `models.providers.${name} has no API key: runs on ${name} are refused`, fix)
    ]
  })
  return findings.length > 0 ? findings : [ok("providers", "only the built-in mock provider is configured")]
}

// ---------------------------------------------------------------------------------------------
// All of it
// ---------------------------------------------------------------------------------------------

/** Every finding, config first; with an unusable config only that finding (the others would guess). */
export const diagnose = (
  options: DoctorOptions
): Effect.Effect<ReadonlyArray<Finding>, never, FileSystem.FileSystem | Path.Path> =>
  loadConfig(options.config).pipe(
    Effect.matchEffect({
      onFailure: (failure) =>
        Effect.succeed([
          error("config", failure.message, configFixes[failure.reason]),
          warning("config", "the other checks need a valid config and were skipped", "Fix the config, then rerun.")
        ]),
      onSuccess: ({ config, file }) =>
        Effect.gen(function*() {
          const source = Option.match(file, {
            onNone: () =>
              "no openclaw.json found ($OPENCLAW_CONFIG, ./openclaw.json, ~/.openclaw/openclaw.json): " +
              "the embedded defaults apply",
            onSome: (path) => `${path} is valid`
          })
          const [auth, port] = yield* Effect.all([
            checkAuth(config),
            checkPort(config, file, options.healthzTimeoutMs ?? 2000)
          ], { concurrency: "unbounded" })
          return [
            ok("config", source),
            auth,
            port,
            checkBind(config),
            checkThreads(config, options.cores ?? os.availableParallelism()),
            checkMemory(config, options.totalMemoryBytes ?? os.totalmem()),
            ...checkProviders(config)
          ]
        })
    })
  )

const labels: Record<Severity, string> = { ok: "ok", warning: "WARNING", error: "ERROR" }

/** The findings for people: one line each (a fix indented below), then the counts. */
export const renderFindings = (findings: ReadonlyArray<Finding>): string => {
  const indent = " ".repeat(20)
  const lines = findings.flatMap((finding) => [
    `${labels[finding.severity].padEnd(8)} ${finding.check.padEnd(10)} ${finding.message.split("\n").join(`\n${indent}`)}`,
    ...(finding.fix === undefined ? [] : [`${indent}fix: ${finding.fix}`])
  ])
  const count = (severity: Severity) => findings.filter((finding) => finding.severity === severity).length
  const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? "" : "s"}`
  return [...lines, `${plural(count("error"), "error")}, ${plural(count("warning"), "warning")}`].join("\n") + "\n"
}
