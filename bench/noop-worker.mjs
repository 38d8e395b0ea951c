// A pool worker that completes every run at once: measures the pool's own dispatch path
// (scheduler, driver, message protocol), not an agent. The piscina task below does the same amount of work.
import { parentPort } from "node:worker_threads"

parentPort.on("message", (message) => {
  if (message._tag !== "Run") return
  const { runId } = message
  parentPort.postMessage({
    _tag: "Events",
    runId,
    events: [{ _tag: "RunCompleted", runId, seq: 0, at: 0, text: "", usage: { inputTokens: 0, outputTokens: 0 }, durationMs: 0 }]
  })
  parentPort.postMessage({ _tag: "Completed", runId })
})
parentPort.postMessage({ _tag: "Ready" })
