/**
 * The bare reference server (see `reference-server.ts`): each run paced by plain Node timers, no Effect at all.
 *
 *   node node_modules/.cache/openclaw-bench/bench/transport.js --quick --no-pool --only=WebSocket \
 *     --gateway-entry=node_modules/.cache/openclaw-bench/bench/bare-ws-server.js
 */
import { serve } from "./reference-server.js"

serve((tick, firstDelayMs) => {
  let timer = setTimeout(function wake() {
    const delay = tick()
    if (delay !== undefined) timer = setTimeout(wake, delay)
  }, firstDelayMs)
  return () => clearTimeout(timer)
})
