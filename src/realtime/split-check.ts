// SOCKET_ADAPTER=cluster only works when a cluster primary relays between workers (the @socket.io/pm2 daemon runs
// setupPrimary). Under stock PM2 or plain `node`, nothing relays and the adapter stays silently local: broadcasts
// miss other workers, fetchSockets and serverSideEmit see only this one. We refuse to run like that: within the
// grace period the adapter must count SOCKET_CLUSTER_INSTANCES servers, or the caller exits non-zero. (Outside
// any cluster worker, adapter.ts refuses to start at all.)
import type { ParleyServer } from './events.js';

export interface SplitCheck {
  /** Resolves with the server count seen; rejects with the reason the cluster is split. */
  done: Promise<number>;
  cancel(): void;
}

export function checkClusterJoined(io: ParleyServer, expected: number, graceMs: number): SplitCheck {
  const controller = new AbortController();
  const done = new Promise<number>((resolve, reject) => {
    const deadline = Date.now() + graceMs;
    let seen = 0;
    const poll = async () => {
      if (controller.signal.aborted) return;
      seen = await io.of('/').adapter.serverCount().catch(() => seen);
      if (seen >= expected) return resolve(seen);
      if (Date.now() >= deadline) {
        return reject(
          new Error(`SOCKET_ADAPTER=cluster sees ${seen} of ${expected} servers after ${graceMs} ms: no relaying primary (stock PM2?)`),
        );
      }
      setTimeout(() => void poll(), 500).unref();
    };
    void poll();
  });
  return { done, cancel: () => controller.abort() };
}
