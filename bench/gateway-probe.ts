/**
 * Preloaded into the benchmarked gateway's process (`node --import gateway-probe.js dist/main.js`), so the gateway's
 * own CPU time and event-loop delay are measured inside it without changing it: the bench asks over the IPC channel
 * and gets `process.cpuUsage()` and the event-loop delay histogram since the previous sample (then reset).
 */
import { monitorEventLoopDelay } from "node:perf_hooks"

export interface ProbeSample {
  readonly cpuUserUs: number
  readonly cpuSystemUs: number
  readonly eventLoopDelayP50Ms: number
  readonly eventLoopDelayP99Ms: number
  readonly eventLoopDelayMaxMs: number
  readonly rssBytes: number
}

const histogram = monitorEventLoopDelay({ resolution: 1 })
histogram.enable()

process.on("message", (message) => {
  if (message !== "sample" || process.send === undefined) return
  const cpu = process.cpuUsage()
  const sample: ProbeSample = {
    cpuUserUs: cpu.user,
    cpuSystemUs: cpu.system,
    eventLoopDelayP50Ms: histogram.percentile(50) / 1e6,
    eventLoopDelayP99Ms: histogram.percentile(99) / 1e6,
    eventLoopDelayMaxMs: histogram.max / 1e6,
    rssBytes: process.memoryUsage.rss()
  }
  histogram.reset()
  process.send(sample)
})
// The channel must not keep the gateway alive once it shuts down (a 'message' listener refs it).
process.channel?.unref()
