// SOCKET_ADAPTER=cluster, which the design card asks for: Node cluster IPC, which only works when a cluster
// primary relays between workers (the @socket.io/pm2 daemon runs setupPrimary). Under stock PM2 or plain `node`,
// nothing relays and the adapter stays silently local: broadcasts miss other workers, fetchSockets and
// serverSideEmit see only this one. So this refuses to run outside a cluster worker, and within the grace period
// the adapter must count SOCKET_CLUSTER_INSTANCES servers, or main.ts exits with 70.
import cluster from 'node:cluster';
import { createAdapter as createClusterAdapter } from '@socket.io/cluster-adapter';
import { setupWorker } from '@socket.io/sticky';
import type { Config } from '../config.js';
import { alwaysConnected, type AdapterChoice, type SplitCheck } from './adapter.js';
import type { ParleyServer } from './events.js';

export function clusterAdapter(settings: Config['realtime']): AdapterChoice {
  // Outside a cluster worker there is no IPC channel at all; the adapter would crash on first use.
  if (!cluster.isWorker) {
    throw new Error(
      'SOCKET_ADAPTER=cluster but this process is not a cluster worker: run it under the @socket.io/pm2 daemon',
    );
  }
  return {
    name: 'cluster',
    options: { adapter: createClusterAdapter() },
    connection: alwaysConnected,
    attach: (io) => {
      // The @socket.io/pm2 daemon listens on PM2_PORT and passes each connection to a worker by socket.io
      // session; the worker injects it into its HTTP server.
      setupWorker(io as unknown as Parameters<typeof setupWorker>[0]);
      return checkClusterJoined(io, settings.clusterInstances, settings.clusterGraceMs);
    },
    close: async () => undefined,
  };
}

function checkClusterJoined(io: ParleyServer, expected: number, graceMs: number): SplitCheck {
  const controller = new AbortController();
  const done = new Promise<number>((resolve, reject) => {
    const deadline = Date.now() + graceMs;
    let seen = 0;
    const poll = async () => {
      if (controller.signal.aborted) return;
      seen = await io
        .of('/')
        .adapter.serverCount()
        .catch(() => seen);
      if (seen >= expected) return resolve(seen);
      if (Date.now() >= deadline) {
        return reject(
          new Error(
            `SOCKET_ADAPTER=cluster sees ${seen} of ${expected} servers after ${graceMs} ms: no relaying primary (stock PM2?)`,
          ),
        );
      }
      setTimeout(() => void poll(), 500).unref();
    };
    void poll();
  });
  return { done, cancel: () => controller.abort() };
}
