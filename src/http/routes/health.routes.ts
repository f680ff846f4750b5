// /health, /health/ready, /health/metrics: no auth, never rate limited. /health/live is answered before Koa
// (http/liveness.ts).
import Router from '@koa/router';
import type { Health } from '../../ops/health.js';
import type { Metrics } from '../../ops/metrics.js';
import type { ParleyState } from '../context.js';

export function healthRoutes(health: Health, metrics: Metrics): Router<ParleyState> {
  const router = new Router<ParleyState>({ prefix: '/health' });

  router.get('/', async (ctx) => {
    const { ok, body } = await health.report();
    ctx.status = ok ? 200 : 503;
    ctx.body = body;
  });

  router.get('/ready', async (ctx) => {
    const { ready, checks } = await health.ready();
    ctx.status = ready ? 200 : 503;
    ctx.body = { status: ready ? 'ready' : 'not_ready', checks };
  });

  router.get('/metrics', async (ctx) => {
    ctx.type = metrics.registry.contentType;
    ctx.body = await metrics.registry.metrics();
  });

  return router;
}
