// One ioredis connection per process for commands (sessions, rate limits, presence). The key prefix gives every
// deployment (and every test run) its own key space. Default reply mapping: the streams adapter needs it. With
// REDIS_SENTINELS, ioredis asks the sentinels for the master and, after a failover, reconnects to the new one.
import { Redis, type RedisOptions } from 'ioredis';
import type { Logger } from '../core/logger.js';
import { OutageLog } from '../core/outage-log.js';

/**
 * How long one command may take before it fails. Redis answers in well under a millisecond; a command that waits
 * this long is talking to a server that hangs (stopped, partitioned), and waiting longer held requests for seconds.
 */
const COMMAND_TIMEOUT_MS = 500;

/** Where Redis is: a URL, or a Sentinel group that names the current master (config.redis). */
export interface RedisLocation {
  url?: string;
  sentinels: readonly { host: string; port: number }[];
  sentinelName: string;
}

/** A connection to the location, with these options: the one way Parley opens a Redis connection. */
export function connectTo(location: RedisLocation, options: RedisOptions): Redis {
  if (location.sentinels.length > 0)
    return new Redis({ ...options, sentinels: [...location.sentinels], name: location.sentinelName });
  return new Redis(location.url!, options);
}

export function createRedis(location: RedisLocation, prefix: string, log: Logger): Redis {
  const redis = connectTo(location, {
    keyPrefix: prefix,
    // While disconnected, commands fail at once instead of queueing until a reconnection: rate limits, sessions
    // and presence fall back or answer 503 within milliseconds (measured before: bearer requests took 3.8 s on
    // average during a 12 s outage, waiting on queued limiter commands).
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    commandTimeout: COMMAND_TIMEOUT_MS,
    lazyConnect: true,
  });
  logOutages(redis, new OutageLog(log, 'redis'));
  return redis;
}

/** ioredis retries on its own and reports every failed attempt: one line when an outage starts and one when it ends. */
export function logOutages(client: Redis, outage: OutageLog): void {
  client.on('error', (error: Error) => outage.failed(error));
  client.on('ready', () => outage.recovered());
}

export const isRedisReady = (redis: Redis | undefined): boolean => redis?.status === 'ready';
