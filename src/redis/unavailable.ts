// Whether an error means Redis cannot be reached right now, as ioredis reports it with the offline queue off:
// commands fail at once instead of waiting for a reconnection (redis/client.ts).
const UNAVAILABLE =
  /Stream isn't writeable|Connection is closed|Command timed out|Reached the max retries per request|ECONNREFUSED|ECONNRESET|ETIMEDOUT/;

export const isRedisUnavailable = (error: unknown): boolean =>
  typeof (error as { message?: unknown })?.message === 'string' &&
  UNAVAILABLE.test((error as { message: string }).message);
