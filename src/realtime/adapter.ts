// Which socket.io adapter carries broadcasts between processes, chosen by SOCKET_ADAPTER:
//  - redis:   Redis Streams on its own ioredis connection (the blocking XREAD must not hold up the command
//             client). Default reply mapping: with RESP3 mapping the adapter silently delivers nothing.
//  - cluster: Node cluster IPC; needs a primary that relays (the @socket.io/pm2 daemon). See split-check.ts.
//  - memory:  one process.
import type { Redis } from 'ioredis';
import { connectTo } from '../redis/client.js';
import { createAdapter as createStreamsAdapter } from '@socket.io/redis-streams-adapter';
import { createAdapter as createClusterAdapter } from '@socket.io/cluster-adapter';
import cluster from 'node:cluster';
import { setupWorker } from '@socket.io/sticky';
import type { Server, ServerOptions } from 'socket.io';
import type { Config } from '../config.js';
import type { Logger } from '../core/logger.js';
import { STREAM_MAX_LEN, streamPublisher, type OrderedPublish } from './stream-publisher.js';

export type AdapterName = 'redis' | 'cluster' | 'memory';

/** How long a send's announcement may wait on a Redis that hangs (it holds the send locks meanwhile). */
const PUBLISH_TIMEOUT_MS = 2_000;

export interface AdapterChoice {
  name: AdapterName;
  /** Options to merge into the socket.io server options. */
  options: Partial<ServerOptions>;
  /** Broadcasts that every process delivers in one global order (redis only; elsewhere a plain emit). */
  orderedPublish?: OrderedPublish;
  /** Wiring that needs the server (cluster: accept the connections the daemon's sticky balancer hands over). */
  attach?(io: Server): void;
  /** Whether broadcasts can flow now, and when that changes (events may be lost meanwhile: the history cache clears). */
  connection: { connected(): boolean; onChange(listener: (connected: boolean) => void): void };
  close(): Promise<void>;
}

const alwaysConnected = { connected: () => true, onChange: () => undefined };

/** An ioredis client's readiness as the adapter's connection state. */
function redisConnection(client: Redis): AdapterChoice['connection'] {
  return {
    connected: () => client.status === 'ready',
    onChange(listener) {
      client.on('ready', () => listener(true));
      for (const event of ['close', 'reconnecting', 'end']) client.on(event, () => listener(false));
    },
  };
}

export function chooseAdapter(config: Config, log: Logger, onError: (error: Error) => void): AdapterChoice {
  const name = config.realtime.adapter;
  if (name === 'redis') {
    // No keyPrefix on this connection: the adapter names its own keys, and we put REDIS_PREFIX into each name.
    const prefix = config.redis.prefix;
    const client = connectTo(config.redis, { maxRetriesPerRequest: null });
    let lastError = '';
    client.on('error', (error: Error) => {
      onError(error);
      if (error.message !== lastError) log.error({ err: error }, 'socket.io adapter redis error');
      lastError = error.message;
    });
    const streamName = `${prefix}socket.io`;
    return {
      name,
      orderedPublish: streamPublisher(client, streamName, { timeoutMs: PUBLISH_TIMEOUT_MS, backlogMax: config.realtime.announceBacklogMax }),
      connection: redisConnection(client),
      options: {
        adapter: createStreamsAdapter(client, {
          streamName,
          maxLen: STREAM_MAX_LEN,
          channelPrefix: `${prefix}socket.io`,
        }),
      },
      async close() {
        client.disconnect();
      },
    };
  }
  if (name === 'cluster') {
    // Outside a cluster worker there is no IPC channel at all; the adapter would crash on first use.
    if (!cluster.isWorker) {
      throw new Error('SOCKET_ADAPTER=cluster but this process is not a cluster worker: run it under the @socket.io/pm2 daemon');
    }
    return {
      name,
      options: { adapter: createClusterAdapter() },
      connection: alwaysConnected,
      // The @socket.io/pm2 daemon listens on PM2_PORT and passes each connection to a worker by socket.io
      // session; the worker injects it into its HTTP server.
      attach: (io) => {
        setupWorker(io as unknown as Parameters<typeof setupWorker>[0]);
      },
      close: async () => undefined,
    };
  }
  return { name, options: {}, connection: alwaysConnected, close: async () => undefined };
}
