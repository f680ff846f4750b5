// koa-session's external store on ioredis: there is no maintained Redis store for current ioredis, and this is
// all one needs. Methods resolve to nothing (koa-session ignores the result).
import type { Redis } from 'ioredis';

const SESSION_KEY = 'sess:';

export function redisSessionStore(redis: Redis) {
  return {
    async get(key: string): Promise<Record<string, unknown> | undefined> {
      const raw = await redis.get(SESSION_KEY + key);
      return raw ? (JSON.parse(raw) as Record<string, unknown>) : undefined;
    },
    async set(key: string, session: Record<string, unknown>, maxAge: number | 'session' | undefined): Promise<void> {
      const ttl = typeof maxAge === 'number' ? maxAge : 24 * 3_600_000;
      await redis.set(SESSION_KEY + key, JSON.stringify(session), 'PX', ttl);
    },
    async destroy(key: string): Promise<void> {
      await redis.del(SESSION_KEY + key);
    },
  };
}
