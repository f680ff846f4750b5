// Request rate limits with koa-ratelimit: one shared count in Redis across every instance and host when Redis is
// configured, a per-process count otherwise. Over the limit: 429 rate_limited with Retry-After.
import type { Middleware } from 'koa';
import ratelimit from 'koa-ratelimit';
import type { Redis } from 'ioredis';
import type { ParleyState } from '../context.js';

const MINUTE_MS = 60_000;

export interface RateLimitStore {
  redis?: Redis;
  /** One Map per limiter when counting in memory. */
  memory(): Map<unknown, unknown>;
}

export function limitPerMinute(
  name: string,
  max: number,
  keyOf: (state: ParleyState, ip: string) => string,
  store: RateLimitStore,
): Middleware<ParleyState> {
  const shared = {
    duration: MINUTE_MS,
    max,
    id: (ctx: { state: ParleyState; ip: string }) => keyOf(ctx.state, ctx.ip),
    throw: true,
    errorMessage: 'Too many requests, slow down',
    namespace: `ratelimit:${name}`,
  };
  const options = store.redis
    ? { ...shared, driver: 'redis' as const, db: store.redis }
    : { ...shared, driver: 'memory' as const, db: store.memory() };
  return ratelimit(options as unknown as Parameters<typeof ratelimit>[0]) as Middleware<ParleyState>;
}
