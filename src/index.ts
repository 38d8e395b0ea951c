/** The package's public surface: wire types, the RPC contract and the typed client. */
export * from "./Domain/AgentEvent.js"
export * from "./Domain/Ids.js"
export * from "./Domain/RunError.js"
export * from "./Domain/RunSpec.js"
export * from "./Domain/ServerInfo.js"
export * from "./Domain/Usage.js"
export * from "./Rpc/GatewayRpcs.js"
export * from "./Client/GatewayClient.js"
