// SOCKET_ADAPTER=redis: Redis Streams on its own ioredis connection (the blocking XREAD must not hold up the command
// client). Default reply mapping: with RESP3 mapping the adapter silently delivers nothing.
import type { Redis } from 'ioredis';
import { createAdapter as createStreamsAdapter } from '@socket.io/redis-streams-adapter';
import type { Config } from '../config.js';
import type { Logger } from '../core/logger.js';
import { OutageLog } from '../core/outage-log.js';
import { connectTo, logOutages } from '../redis/client.js';
import type { AdapterChoice } from './adapter.js';
import { STREAM_MAX_LEN, streamPublisher } from './stream-publisher.js';

/** How long a send's announcement may wait on a Redis that hangs (it holds the send locks meanwhile). */
const PUBLISH_TIMEOUT_MS = 2_000;

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

export function redisStreamsAdapter(config: Config, log: Logger, onError: (error: Error) => void): AdapterChoice {
  // No keyPrefix on this connection: the adapter names its own keys, and we put REDIS_PREFIX into each name.
  const prefix = config.redis.prefix;
  const client = connectTo(config.redis, { maxRetriesPerRequest: null });
  client.on('error', onError);
  logOutages(client, new OutageLog(log, 'socket.io adapter redis'));
  const streamName = `${prefix}socket.io`;
  return {
    name: 'redis',
    orderedPublish: streamPublisher(client, streamName, {
      timeoutMs: PUBLISH_TIMEOUT_MS,
      backlogMax: config.realtime.announceBacklogMax,
    }),
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
