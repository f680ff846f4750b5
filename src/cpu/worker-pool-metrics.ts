// Prometheus series for the worker-thread pool, on the app's own registry: task durations and failures as they
// happen, thread and queue gauges and the completed count read from the pool when /metrics is scraped.
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { TaskObserver, WorkerPoolStats } from './worker-pool.js';

export function workerPoolMetrics(registry: Registry, stats: () => WorkerPoolStats): TaskObserver {
  const duration = new Histogram({
    name: 'parley_worker_task_duration_seconds',
    help: 'Worker-pool task duration, queue wait included, by task and outcome',
    labelNames: ['task', 'outcome'] as const,
    // scrypt at production cost takes ~0.1-0.3 s on a small shared box, an export page a few ms; queue wait adds up.
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [registry],
  });
  const failures = new Counter({
    name: 'parley_worker_task_failures_total',
    help: 'Worker-pool tasks that failed (error: the task threw or its worker died; overloaded: the queue was full)',
    labelNames: ['task', 'reason'] as const,
    registers: [registry],
  });
  const gauge = (name: string, help: string, pick: (s: WorkerPoolStats) => number) =>
    new Gauge({
      name,
      help,
      registers: [registry],
      collect() {
        this.set(pick(stats()));
      },
    });
  gauge('parley_worker_pool_threads', 'Worker threads currently alive', (s) => s.threads);
  gauge('parley_worker_pool_queued', 'Tasks waiting for a worker thread', (s) => s.queued);
  new Counter({
    name: 'parley_worker_pool_tasks_completed_total',
    help: 'Tasks the pool has finished since start, failed ones included',
    registers: [registry],
    collect() {
      // The pool keeps the count; the counter mirrors it at each scrape.
      this.reset();
      this.inc(stats().completed);
    },
  });

  return {
    succeeded: (task, seconds) => duration.observe({ task, outcome: 'ok' }, seconds),
    failed(task, seconds) {
      duration.observe({ task, outcome: 'error' }, seconds);
      failures.inc({ task, reason: 'error' });
    },
    rejected: (task) => failures.inc({ task, reason: 'overloaded' }),
  };
}
