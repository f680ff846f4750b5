// One ioredis connection per process for commands (sessions, rate limits, presence). The key prefix gives every
// deployment (and every test run) its own key space. Default reply mapping: the streams adapter needs it.
import { Redis } from 'ioredis';
import type { Logger } from '../core/logger.js';

export function createRedis(url: string, prefix: string, log: Logger): Redis {
  const redis = new Redis(url, {
    keyPrefix: prefix,
    // Fail commands fast while disconnected instead of queueing them forever.
    maxRetriesPerRequest: 2,
    enableOfflineQueue: true,
    lazyConnect: true,
  });
  let lastError = '';
  redis.on('error', (error: Error) => {
    // ioredis retries on its own; log each distinct failure once rather than every retry.
    if (error.message !== lastError) log.error({ err: error }, 'redis error');
    lastError = error.message;
  });
  redis.on('ready', () => {
    if (lastError) log.info('redis connection restored');
    lastError = '';
  });
  return redis;
}

export const isRedisReady = (redis: Redis | undefined): boolean => redis?.status === 'ready';
