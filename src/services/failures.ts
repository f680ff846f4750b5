// What a client is told when something below the service fails. One mapping for HTTP and sockets: an AppError is
// answered as it is; a database or Redis that cannot be reached is `503 overloaded` with Retry-After (the request
// may be retried and will work once it is back), not a `500 internal`; anything else is internal.
import { AppError, overloaded } from '../core/errors.js';
import { isDatabaseUnavailable } from '../db/unavailable.js';
import { isRedisUnavailable } from '../redis/unavailable.js';

/**
 * How long a client should wait before retrying while the database or Redis is unreachable: a restart takes seconds.
 */
const RETRY_AFTER_SEC = 2;

export const INTERNAL_MESSAGE = 'Something went wrong on our side';

/** The answer for a failure, and whether it was unexpected (worth an error log line). */
export function publicError(error: unknown): { error: AppError; unexpected: boolean } {
  if (error instanceof AppError) return { error, unexpected: false };
  if (isDatabaseUnavailable(error)) {
    return { error: overloaded(RETRY_AFTER_SEC, 'The database is unavailable, try again shortly'), unexpected: false };
  }
  // Only what needs Redis gets here (a cookie session's lookup): limits and presence fall back without it.
  if (isRedisUnavailable(error)) {
    return {
      error: overloaded(RETRY_AFTER_SEC, 'Sessions are unavailable, try again shortly or use a bearer token'),
      unexpected: false,
    };
  }
  return { error: new AppError('internal', INTERNAL_MESSAGE), unexpected: true };
}
