/** The gateway's entry point (`node dist/main.js`): the config lookup and defaults, no flags. */
import { NodeRuntime } from "@effect/platform-node"
import { exitCodeOf, noOverrides, runGateway } from "./Gateway/GatewayMain.js"

NodeRuntime.runMain(runGateway(noOverrides), {
  disableErrorReporting: true,
  teardown: (exit, onExit) => onExit(exitCodeOf(exit))
})
