/**
 * Test helpers for the built CLI as a child process: one-shot commands with their output and exit
 * code, and a gateway process whose port is read from its start-up log line. Every process started
 * here must be stopped by the test that started it (`stop`, or `killAll` in afterAll).
 */
import { type ChildProcess, spawn } from "node:child_process"
import * as path from "node:path"

export const cliPath = path.resolve(import.meta.dirname, "../../dist/cli.js")

export interface CliResult {
  readonly code: number | null
  readonly signal: NodeJS.Signals | null
  readonly stdout: string
  readonly stderr: string
}

export interface CliOptions {
  readonly env?: Readonly<Record<string, string>>
  readonly cwd?: string
  /** Kills the process (SIGKILL) after this long; default 20 s. */
  readonly timeoutMs?: number
}

/** The environment of a child: this process's, minus the variables the CLI reads, plus `env`. */
export const childEnv = (env: Readonly<Record<string, string>> = {}): NodeJS.ProcessEnv => {
  const base: NodeJS.ProcessEnv = { ...process.env }
  delete base["OPENCLAW_GATEWAY_URL"]
  delete base["OPENCLAW_GATEWAY_TOKEN"]
  delete base["OPENCLAW_CONFIG"]
  return { ...base, ...env }
}

export interface CliProcess {
  readonly child: ChildProcess
  /** What it printed so far. */
  readonly output: () => { readonly stdout: string; readonly stderr: string }
  /** Resolves when it exits (killed with SIGKILL after `timeoutMs`). */
  readonly result: Promise<CliResult>
}

/** Starts `node dist/cli.js ...args`; the caller must await `result` (or kill `child`). */
export const spawnCli = (args: ReadonlyArray<string>, options: CliOptions = {}): CliProcess => {
  const child = spawn(process.execPath, [cliPath, ...args], {
    cwd: options.cwd ?? process.cwd(),
    env: childEnv(options.env),
    stdio: ["ignore", "pipe", "pipe"]
  })
  let stdout = ""
  let stderr = ""
  child.stdout.setEncoding("utf8").on("data", (chunk: string) => (stdout += chunk))
  child.stderr.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk))
  const result = new Promise<CliResult>((resolve, reject) => {
    const timer = setTimeout(() => child.kill("SIGKILL"), options.timeoutMs ?? 20_000)
    child.once("error", (error) => {
      clearTimeout(timer)
      reject(error)
    })
    child.once("close", (code, signal) => {
      clearTimeout(timer)
      resolve({ code, signal, stdout, stderr })
    })
  })
  return { child, output: () => ({ stdout, stderr }), result }
}

/** Runs `node dist/cli.js ...args` to completion. */
export const runCli = (args: ReadonlyArray<string>, options: CliOptions = {}): Promise<CliResult> =>
  spawnCli(args, options).result

/** Polls `condition` every 20 ms until it holds; fails after `timeoutMs`. */
export const eventually = async (condition: () => boolean | Promise<boolean>, timeoutMs = 10_000): Promise<void> => {
  const deadline = Date.now() + timeoutMs
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`)
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}

export interface GatewayProcess {
  readonly child: ChildProcess
  readonly port: number
  readonly url: string
  readonly output: () => { readonly stdout: string; readonly stderr: string }
  /** Sends `signal` (default SIGTERM) and resolves with the exit code; SIGKILL after `timeoutMs`. */
  readonly stop: (signal?: NodeJS.Signals, timeoutMs?: number) => Promise<number | null>
}

const exitOf = (child: ChildProcess): Promise<number | null> =>
  child.exitCode !== null || child.signalCode !== null
    ? Promise.resolve(child.exitCode)
    : new Promise((resolve) => child.once("exit", (code) => resolve(code)))

/** Starts `node dist/cli.js gateway ...args` and waits for `listening on ws://HOST:PORT`. */
export const startGatewayProcess = (args: ReadonlyArray<string>, options: CliOptions = {}): Promise<GatewayProcess> =>
  new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [cliPath, "gateway", ...args], {
      cwd: options.cwd ?? process.cwd(),
      env: childEnv(options.env),
      stdio: ["ignore", "pipe", "pipe"]
    })
    let stdout = ""
    let stderr = ""
    let started = false
    const output = () => ({ stdout, stderr })
    const stop = async (signal: NodeJS.Signals = "SIGTERM", timeoutMs = 10_000) => {
      if (child.exitCode !== null || child.signalCode !== null) return child.exitCode
      const killer = setTimeout(() => child.kill("SIGKILL"), timeoutMs)
      child.kill(signal)
      const code = await exitOf(child)
      clearTimeout(killer)
      return code
    }
    const timer = setTimeout(() => {
      child.kill("SIGKILL")
      reject(new Error(`gateway did not start within ${options.timeoutMs ?? 45_000} ms:\n${stdout}\n${stderr}`))
    }, options.timeoutMs ?? 45_000)
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
      stdout += chunk
      const match = /listening on ws:\/\/([^\s:]+|\[[^\]]+\]):(\d+)/.exec(stdout)
      if (match !== null && !started) {
        started = true
        clearTimeout(timer)
        const port = Number(match[2])
        resolve({ child, port, url: `ws://127.0.0.1:${port}`, output, stop })
      }
    })
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk))
    child.once("exit", (code) => {
      if (started) return
      clearTimeout(timer)
      reject(new Error(`gateway exited with ${code} before listening:\n${stdout}\n${stderr}`))
    })
  })
