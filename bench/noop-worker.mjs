// A pool worker that completes every run at once: measures the pool's own dispatch path
// (scheduler, driver, message protocol), not an agent. It speaks the real worker's protocol: a run's last
// batch (RunCompleted) travels with `Completed`, one message per run. The piscina task does the same amount of work.
import { parentPort } from "node:worker_threads"

parentPort.on("message", (message) => {
  if (message._tag !== "Run") return
  const { runId } = message
  parentPort.postMessage({
    _tag: "Completed",
    runId,
    events: [{ _tag: "RunCompleted", runId, seq: 0, at: 0, text: "", usage: { inputTokens: 0, outputTokens: 0 }, durationMs: 0 }]
  })
})
parentPort.postMessage({ _tag: "Ready" })
