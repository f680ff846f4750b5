// /health, /health/ready: no auth, never rate limited. /health/live is answered before Koa (http/liveness.ts);
// /health/metrics is an alias of /metrics (metrics.routes.ts). /health's detail (pid, memory, versions, pools) is
// for operators: it is served only with `Authorization: Bearer <HEALTH_DETAIL_TOKEN>`; anyone else gets the status
// alone.
import { timingSafeEqual } from 'node:crypto';
import type { Health } from '../../ops/health.js';
import { newRouter, type ParleyRouter } from '../router.js';

export function healthRoutes(health: Health, detailToken: string | undefined): ParleyRouter {
  const router = newRouter('/health');
  const operator = operatorCheck(detailToken);

  router.get('/', async (ctx) => {
    const { ok, body } = await health.report();
    ctx.status = ok ? 200 : 503;
    ctx.body = operator(ctx.get('authorization'))
      ? body
      : { status: body.status, ...(body.missing ? { missing: body.missing } : {}) };
  });

  router.get('/ready', async (ctx) => {
    const { ready, checks } = await health.ready();
    ctx.status = ready ? 200 : 503;
    ctx.body = { status: ready ? 'ready' : 'not_ready', checks };
  });

  return router;
}

/** Whether an Authorization header carries the detail token; always false when none is configured. */
function operatorCheck(token: string | undefined): (header: string) => boolean {
  if (!token) return () => false;
  const expected = Buffer.from(`Bearer ${token}`);
  return (header) => {
    const given = Buffer.from(header);
    return given.length === expected.length && timingSafeEqual(given, expected);
  };
}
