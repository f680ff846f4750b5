// Binds a request id and a child logger to each request, logs its outcome, and records its duration by route.
import { randomUUID } from 'node:crypto';
import type { Middleware } from 'koa';
import type { Logger } from '../../core/logger.js';
import type { Metrics } from '../../ops/metrics.js';
import type { ParleyState } from '../context.js';

const INCOMING_ID = /^[\w.:-]{1,64}$/;

export function requestContext(log: Logger, metrics: Metrics): Middleware<ParleyState> {
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
      const line = { method: ctx.method, url: ctx.url, status: ctx.status, ms: Math.round(seconds * 1e5) / 100 };
      if (ctx.status >= 500) ctx.state.log.error(line, 'request failed');
      else ctx.state.log.debug(line, 'request');
    }
  };
}
