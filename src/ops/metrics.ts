// Prometheus metrics. One registry per app instance (not prom-client's global one), so several apps can live in
// one process in tests without clashing. Names follow Prometheus's conventions: base units (seconds, bytes),
// `_total` on counters; event-loop lag is prom-client's default `nodejs_eventloop_lag_*_seconds`.
//
// Where a series lives: this file makes the registry and the series of the running process that no one feature
// owns (Node's defaults, HTTP requests and rate-limit fallbacks, the database pools and replicas), and
// metrics-cluster.ts merges a host's instances into one scrape. A feature's own series sit beside the feature and
// register on this registry, which app.ts hands them: cpu/worker-pool-metrics.ts, jobs/queue-metrics.ts,
// services/attachment-metrics.ts, realtime/metrics.ts. A figure read from a snapshot at scrape time is a
// scraped-gauge.ts gauge, wherever it lives. The same for `pm2 monit`: ops/pm2-metrics.ts is the API
// process's panel (read from its /health report), jobs/pm2-metrics.ts the jobs app's. One series still breaks the
// rule: parley_send_batch_size belongs beside services/send-batcher.ts, but the send-batching test observes it
// through the app's Metrics (app.parley.metrics.sendBatchSize).
import { Registry, Histogram, Counter, collectDefaultMetrics } from 'prom-client';
import { scrapedGauge } from './scraped-gauge.js';
import { clusterScrape, type ClusterMetricsSettings } from './metrics-cluster.js';

export interface MetricSources {
  dbPools(): Array<{ pool: string; total: number; idle: number; waiting: number }>;
  /** Each replica's state and lag (db/replicas.ts); empty without replicas. */
  dbReplicas(): Array<{ name: string; state: string; lagBytes: number | null; lagSeconds: number | null }>;
}

export function createMetrics(instanceId: string, cluster: ClusterMetricsSettings) {
  const registry = new Registry();
  registry.setDefaultLabels({ instance_id: instanceId });
  collectDefaultMetrics({ register: registry });

  const httpDuration = new Histogram({
    name: 'parley_http_request_duration_seconds',
    help: 'HTTP request duration by route and status',
    labelNames: ['method', 'route', 'status'] as const,
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [registry],
  });

  const sendBatchSize = new Histogram({
    name: 'parley_send_batch_size',
    help: 'Message sends stored by one transaction (group commit, SEND_BATCH_MAX)',
    buckets: [1, 2, 5, 10, 20, 50, 100, 200, 500],
    registers: [registry],
  });

  const rateLimitFallbacks = new Counter({
    name: 'parley_rate_limit_fallbacks_total',
    help: 'Requests counted per process because the shared (Redis) count could not be read',
    labelNames: ['limiter'] as const,
    registers: [registry],
  });

  let sources: MetricSources | undefined;
  const poolGauge = (name: string, help: string, pick: 'total' | 'idle' | 'waiting') =>
    scrapedGauge(registry, { name, help, labelNames: ['pool'] }, () =>
      (sources?.dbPools() ?? []).map((stats) => [{ pool: stats.pool }, stats[pick]] as const),
    );
  poolGauge('parley_db_pool_connections', 'Connections open in each database pool', 'total');
  poolGauge('parley_db_pool_idle', 'Idle connections in each database pool', 'idle');
  poolGauge('parley_db_pool_waiting', 'Queries waiting for a connection in each database pool', 'waiting');
  const replicaGauge = (
    name: string,
    help: string,
    pick: (replica: ReturnType<MetricSources['dbReplicas']>[number]) => number | null,
  ) =>
    scrapedGauge(registry, { name, help, labelNames: ['replica'] }, () =>
      (sources?.dbReplicas() ?? []).map((replica) => [{ replica: replica.name }, pick(replica)] as const),
    );
  replicaGauge('parley_db_replica_up', 'Replica in read rotation (1), or out of it: lagging or down (0)', (r) =>
    r.state === 'up' ? 1 : 0,
  );
  replicaGauge(
    'parley_db_replica_lag_bytes',
    'WAL bytes the replica has not replayed yet, at the last check',
    (r) => r.lagBytes,
  );
  replicaGauge(
    'parley_db_replica_lag_seconds',
    "How long ago the primary was first seen past the replica's replay position",
    (r) => r.lagSeconds,
  );

  return {
    registry,
    /** The text of a scrape of /metrics: this process, or every PM2 instance of the host (metrics-cluster.ts). */
    scrape: clusterScrape(registry, cluster),
    httpDuration,
    sendBatchSize,
    rateLimitFallbacks,
    bind(next: MetricSources) {
      sources = next;
    },
  };
}

export type Metrics = ReturnType<typeof createMetrics>;
