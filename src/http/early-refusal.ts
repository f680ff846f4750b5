// Register and login refused before Koa while the password-hashing pool is full. In a retry storm (clients that
// retry every 503 at once, ignoring Retry-After) the refusals are nearly all of the traffic: answered through Koa,
// each paid for a context, the request log, helmet's headers and the router, which held the main thread at 100%
// of a core and starved the logins the pool was hashing (test/bench/login-storm.ts, "pool no-backoff"). Here a
// refusal costs about what /health/live costs. Only the canonical spellings are answered here; every other
// spelling meets the same check inside the router (routes/auth.routes.ts), so this is a shortcut, not the guard.
import type http from 'node:http';
import type { AppError } from '../core/errors.js';

const PASSWORD_ROUTES = new Set(['/api/auth/login', '/api/auth/register']);

export function refusePasswordRoutesWhileSaturated(
  next: http.RequestListener,
  admission: () => AppError | undefined,
): http.RequestListener {
  return (req, res) => {
    const refusal = req.method === 'POST' && PASSWORD_ROUTES.has(pathOf(req.url)) ? admission() : undefined;
    if (!refusal) {
      next(req, res);
      return;
    }
    const body = JSON.stringify(refusal.toBody());
    res.writeHead(refusal.status, {
      'content-type': 'application/json; charset=utf-8',
      'content-length': Buffer.byteLength(body),
      'retry-after': String(refusal.retryAfterSec ?? 1),
    });
    // The unread body is discarded by Node once the response ends, so the connection stays usable.
    res.end(body);
  };
}

const pathOf = (url: string | undefined): string => {
  const raw = url ?? '';
  const query = raw.indexOf('?');
  return query === -1 ? raw : raw.slice(0, query);
};
