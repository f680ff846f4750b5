// Prometheus series for the worker-thread pools, on the app's own registry: task durations and failures as they
// happen, and thread, running, queue and completed counts read from each pool when /metrics is scraped. The pools
// (the CPU pool and the upload threads) share the series: task names are unique across them, and the pool gauges
// carry a `pool` label.
import { Counter, Histogram, type Registry } from 'prom-client';
import { scrapedGauge } from '../ops/scraped-gauge.js';
import type { TaskObserver, WorkerPoolStats } from './worker-pool.js';

export class WorkerPoolMetrics {
  private readonly pools = new Map<string, () => WorkerPoolStats>();
  private readonly duration: Histogram<'task' | 'outcome'>;
  private readonly failures: Counter<'task' | 'reason'>;

  constructor(registry: Registry) {
    this.duration = new Histogram({
      name: 'parley_worker_task_duration_seconds',
      help: 'Worker-pool task duration, queue wait included, by task and outcome',
      labelNames: ['task', 'outcome'] as const,
      // scrypt at production cost takes ~0.1-0.3 s on a small shared box, an export page a few ms; queue wait adds
      // up. An upload lasts as long as its client takes to send it, often past the last bucket.
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers: [registry],
    });
    this.failures = new Counter({
      name: 'parley_worker_task_failures_total',
      help: 'Worker-pool tasks that failed (error: the task threw or its worker died; overloaded: the queue was full)',
      labelNames: ['task', 'reason'] as const,
      registers: [registry],
    });
    const pools = this.pools;
    const perPool = (name: string, help: string, pick: (s: WorkerPoolStats) => number) =>
      scrapedGauge(registry, { name, help, labelNames: ['pool'] }, () =>
        [...pools].map(([pool, stats]) => [{ pool }, pick(stats())] as const),
      );
    perPool('parley_worker_pool_threads', 'Worker threads currently alive', (s) => s.threads);
    perPool('parley_worker_pool_running', 'Tasks running on a worker thread', (s) => s.running);
    perPool('parley_worker_pool_queued', 'Tasks waiting for a worker thread', (s) => s.queued);
    new Counter({
      name: 'parley_worker_pool_tasks_completed_total',
      help: 'Tasks the pool has finished since start, failed ones included',
      labelNames: ['pool'] as const,
      registers: [registry],
      collect() {
        // Each pool keeps its count; the counter mirrors it at each scrape.
        this.reset();
        for (const [pool, stats] of pools) this.inc({ pool }, stats().completed);
      },
    });
  }

  /** The observer for one pool's runs; its gauges read `stats` at each scrape, labelled `pool="<name>"`. */
  observe(pool: string, stats: () => WorkerPoolStats): TaskObserver {
    this.pools.set(pool, stats);
    return {
      succeeded: (task, seconds) => this.duration.observe({ task, outcome: 'ok' }, seconds),
      failed: (task, seconds) => {
        this.duration.observe({ task, outcome: 'error' }, seconds);
        this.failures.inc({ task, reason: 'error' });
      },
      rejected: (task) => this.failures.inc({ task, reason: 'overloaded' }),
    };
  }
}
