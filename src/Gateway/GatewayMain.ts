/**
 * The gateway program shared by `node dist/main.js` and `openclaw gateway`: the composed layers,
 * command-line overrides, and the exit codes (2 for configuration and start-up errors).
 */
import { Cause, Effect, Exit, Layer, Option } from "effect"
import { RunSupervisor } from "../Agents/RunSupervisor.js"
import { GatewayStartupError } from "../Auth/GatewayAuth.js"
import { ConfigError } from "../Config/ConfigLoader.js"
import { GatewayConfig } from "../Config/GatewayConfig.js"
import * as ProviderRegistry from "../Llm/ProviderRegistry.js"
import * as PoolRunner from "../Pool/PoolRunner.js"
import * as ThreadPool from "../Pool/ThreadPool.js"
import * as Quota from "../Quota/Quota.js"
import type { LogLevelName } from "../Domain/LogEntry.js"
import * as GatewayLogger from "../Telemetry/GatewayLogger.js"
import * as LogRing from "../Telemetry/LogRing.js"
import * as Telemetry from "../Telemetry/Telemetry.js"
import { GatewayServer } from "./GatewayServer.js"
import * as TimeSlicedScheduler from "./TimeSlicedScheduler.js"

export interface GatewayOptions {
  /** `--config PATH`; none means the usual lookup. */
  readonly config: Option.Option<string>
  readonly port: Option.Option<number>
  readonly bind: Option.Option<string>
  readonly logLevel?: Option.Option<LogLevelName>
}

export const noOverrides: GatewayOptions = { config: Option.none(), port: Option.none(), bind: Option.none() }

/** The config from file (or defaults) with `--port` / `--bind` applied on top. */
export const configLayer = (options: GatewayOptions): Layer.Layer<GatewayConfig, ConfigError> =>
  Layer.effect(
    GatewayConfig,
    Effect.map(GatewayConfig, ({ config, file, input }) => ({
      file,
      input,
      config: {
        ...config,
        gateway: {
          ...config.gateway,
          port: Option.getOrElse(options.port, () => config.gateway.port),
          bind: Option.getOrElse(options.bind, () => config.gateway.bind)
        },
        logging: {
          ...config.logging,
          level: Option.getOrElse(options.logLevel ?? Option.none(), () => config.logging.level)
        }
      }
    }))
  ).pipe(Layer.provide(GatewayConfig.layer(options.config)))

/** Runs: the supervisor over the pool runner (thread-bound runs on worker threads, inline runs on fibers). */
export const RunsLive = RunSupervisor.DefaultWithoutDependencies.pipe(
  Layer.provide(Layer.merge(ProviderRegistry.layer, PoolRunner.layer)),
  Layer.provideMerge(ThreadPool.layer()),
  Layer.provideMerge(Quota.layer)
)

/**
 * What operators see: the log (Effect's logger replaced for everything the gateway builds, entries kept in the
 * ring) and the telemetry (tracer and metric export, when configured).
 */
export const ObservabilityLive = Layer.merge(
  GatewayLogger.layer().pipe(Layer.provideMerge(LogRing.layer)),
  Telemetry.layer
)

/**
 * Everything the gateway runs, given its config; the runs' services are exposed too (tests and tools look at them).
 * Observability is built first, so that every service built after it logs and traces through it.
 */
export const GatewayLive = GatewayServer.Default.pipe(
  Layer.provideMerge(RunsLive),
  Layer.provideMerge(ObservabilityLive)
)

/** Exit code for a gateway that stopped: 2 when it refused to start because of its configuration. */
export const exitCodeOf = (exit: Exit.Exit<unknown, unknown>): number => {
  if (Exit.isSuccess(exit) || Exit.isInterrupted(exit)) return 0
  const failure = Cause.failureOption(exit.cause)
  const refusedToStart = Option.isSome(failure) &&
    (failure.value instanceof ConfigError || failure.value instanceof GatewayStartupError)
  return refusedToStart ? 2 : 1
}

/**
 * The gateway's fibers run on a time-sliced scheduler, so a burst of work never keeps the event loop from its sockets
 * and timers for more than a slice (see `TimeSlicedScheduler`); fibers forked while the layers build inherit it.
 */
export const withGatewayScheduler = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
  Effect.withScheduler(effect, TimeSlicedScheduler.make())

/** Runs until interrupted (SIGINT/SIGTERM through `NodeRuntime.runMain`). */
export const runGateway = (options: GatewayOptions) =>
  Layer.launch(GatewayLive.pipe(Layer.provide(configLayer(options)))).pipe(
    withGatewayScheduler,
    Effect.tapErrorCause((cause) =>
      Effect.sync(() => {
        const failure = Cause.failureOption(cause)
        process.stderr.write(
          `openclaw gateway: ${Option.isSome(failure) ? failure.value.message : Cause.pretty(cause)}\n`
        )
      })
    )
  )
