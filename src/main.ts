/** The gateway's entry point (`node dist/main.js`): the config lookup and defaults, no flags. */
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import { exitCodeOf, noOverrides, runGateway } from "./Gateway/GatewayMain.js"

NodeRuntime.runMain(runGateway(noOverrides), {
  disableErrorReporting: true,
  // The gateway installs its own logger (JSON lines or pretty, per logging.format).
  disablePrettyLogger: true,
  teardown: (exit, onExit) => onExit(exitCodeOf(exit))
})
