// Request rate limits with koa-ratelimit: one shared count in Redis across every instance and host when Redis is
// configured, a per-process count otherwise. Over the limit: 429 rate_limited with Retry-After. When the shared
// count cannot be read (Redis unreachable), the request is counted per process instead: a Redis outage should
// loosen the limits (each process allows the limit), not lift them or fail the API.
import type { Middleware } from 'koa';
import ratelimit from 'koa-ratelimit';
import type { Redis } from 'ioredis';
import { RATE_LIMITED_MESSAGE } from '../../core/errors.js';
import type { Logger } from '../../core/logger.js';
import { OutageLog } from '../../core/outage-log.js';
import type { ParleyState } from '../context.js';

const MINUTE_MS = 60_000;

export interface RateLimitStore {
  redis?: Redis;
  /** One Map per limiter when counting in memory. */
  memory(): Map<unknown, unknown>;
  /** Called for each request counted per process because the shared count could not be read. */
  onFallback(limiter: string): void;
}

export function limitPerMinute(
  name: string,
  max: number,
  keyOf: (state: ParleyState, ip: string) => string,
  store: RateLimitStore,
  log: Logger,
): Middleware<ParleyState> {
  const shared = {
    duration: MINUTE_MS,
    max,
    id: (ctx: { state: ParleyState; ip: string }) => keyOf(ctx.state, ctx.ip),
    throw: true,
    errorMessage: RATE_LIMITED_MESSAGE,
    namespace: `ratelimit:${name}`,
  };
  const build = (options: object) =>
    ratelimit(options as unknown as Parameters<typeof ratelimit>[0]) as Middleware<ParleyState>;
  const local = build({ ...shared, driver: 'memory', db: store.memory() });
  if (!store.redis) return local;
  const limit = build({ ...shared, driver: 'redis', db: store.redis });
  const outage = new OutageLog(log, 'rate limit count (counting per process meanwhile)', { limiter: name });
  return async (ctx, next) => {
    let counted = false;
    try {
      await limit(ctx, () => {
        counted = true;
        return next();
      });
    } catch (error) {
      // Errors from the routes after the limiter, and the limiter's own 429, are the request's answer.
      if (counted || (error as { status?: number }).status !== undefined) throw error;
      outage.failed(error);
      store.onFallback(name);
      await local(ctx, next);
      return;
    }
    outage.recovered();
  };
}
