// Per-socket event budget: a token bucket refilled at SOCKET_EVENTS_PER_SEC up to SOCKET_EVENTS_BURST. Kept in
// the socket's own closure (synchronous, no timers), so it costs nothing per idle socket beyond two numbers.
export interface EventBudget {
  /** Takes one token; false when the socket is over its rate. */
  take(): boolean;
}

export function tokenBucket(perSec: number, burst: number, now: () => number = Date.now): EventBudget {
  let tokens = burst;
  let last = now();
  return {
    take() {
      const t = now();
      tokens = Math.min(burst, tokens + ((t - last) / 1000) * perSec);
      last = t;
      if (tokens < 1) return false;
      tokens -= 1;
      return true;
    },
  };
}
