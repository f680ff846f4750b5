// Request rate limits with koa-ratelimit: one shared count in Redis across every instance and host when Redis is
// configured, a per-process count otherwise. Over the limit: 429 rate_limited with Retry-After. When the count
// cannot be read (Redis unreachable), requests are served uncounted rather than failed: a Redis outage should
// cost the limits, not the API.
import type { Middleware } from 'koa';
import ratelimit from 'koa-ratelimit';
import type { Redis } from 'ioredis';
import type { Logger } from '../../core/logger.js';
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
  log: Logger,
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
  const limit = ratelimit(options as unknown as Parameters<typeof ratelimit>[0]) as Middleware<ParleyState>;
  const outage = new OutageLog(log, name);
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
      await next();
      return;
    }
    outage.recovered();
  };
}

/** One error line when counting starts failing and one when it works again, not one per request. */
class OutageLog {
  private failing = false;

  constructor(
    private readonly log: Logger,
    private readonly limiter: string,
  ) {}

  failed(error: unknown): void {
    if (!this.failing) this.log.error({ err: error, limiter: this.limiter }, 'rate limit count unavailable; serving requests uncounted');
    this.failing = true;
  }

  recovered(): void {
    if (this.failing) this.log.info({ limiter: this.limiter }, 'rate limit counting restored');
    this.failing = false;
  }
}
