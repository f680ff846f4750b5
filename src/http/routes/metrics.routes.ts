// GET /metrics (and its old path /health/metrics): Prometheus text for every PM2 instance of the host, each
// series labelled by instance_id (ops/metrics-cluster.ts). No auth, never rate limited, like health.
import type { Metrics } from '../../ops/metrics.js';
import { newRouter, type ParleyRouter } from '../router.js';

export const METRICS_PATHS = ['/metrics', '/health/metrics'] as const;

export function metricsRoutes(metrics: Metrics): ParleyRouter {
  const router = newRouter();
  router.get([...METRICS_PATHS], async (ctx) => {
    ctx.type = metrics.registry.contentType;
    ctx.body = await metrics.scrape();
  });
  return router;
}
