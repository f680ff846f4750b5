// Binds a request id and a child logger to each request, writes the access log line, and records the request's
// duration by route.
import { randomUUID } from 'node:crypto';
import type { Middleware } from 'koa';
import type { Logger } from '../../core/logger.js';
import type { Metrics } from '../../ops/metrics.js';
import type { ParleyState } from '../context.js';

const INCOMING_ID = /^[\w.:-]{1,64}$/;

/** Probes and scrapers, every few seconds each: their lines stay at debug so the access log shows traffic. */
const QUIET_PATHS = /^\/(health|metrics)(\/|$)/;

/**
 * With `accessLog` (ACCESS_LOG, on by default) every request but probes and scrapes gets one info line: method,
 * route pattern, url, status, ms, userId (when authenticated) and reqId (from the child logger). 5xx are errors
 * either way.
 */
export function requestContext(log: Logger, metrics: Metrics, accessLog: boolean): Middleware<ParleyState> {
  return async (ctx, next) => {
    const incoming = ctx.get('x-request-id');
    const requestId = INCOMING_ID.test(incoming) ? incoming : randomUUID();
    ctx.state.requestId = requestId;
    ctx.state.log = log.child({ reqId: requestId });
    ctx.set('X-Request-Id', requestId);
    const started = process.hrtime.bigint();
    try {
      await next();
    } finally {
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      // The matched route pattern keeps label cardinality bounded; unmatched paths share one label.
      const route = (ctx as { _matchedRoute?: string })._matchedRoute ?? 'unmatched';
      metrics.httpDuration.observe({ method: ctx.method, route, status: String(ctx.status) }, seconds);
      const line = {
        method: ctx.method,
        route,
        url: ctx.url,
        status: ctx.status,
        ms: Math.round(seconds * 1e5) / 100,
        userId: ctx.state.userId,
      };
      if (ctx.status >= 500) ctx.state.log.error(line, 'request failed');
      else if (accessLog && !QUIET_PATHS.test(ctx.path)) ctx.state.log.info(line, 'request');
      else ctx.state.log.debug(line, 'request');
    }
  };
}
