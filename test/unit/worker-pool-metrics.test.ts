import { expect } from 'chai';
import { Registry } from 'prom-client';
import type { WorkerPoolStats } from '../../src/cpu/worker-pool.js';
import { workerPoolMetrics } from '../../src/cpu/worker-pool-metrics.js';

const STATS: WorkerPoolStats = {
  threads: 2,
  maxThreads: 2,
  queued: 3,
  maxQueue: 16,
  completed: 7,
  failed: 1,
  rejected: 2,
  utilization: 0.5,
  meanRunMs: 120,
};

describe('worker pool metrics', () => {
  it('when tasks succeed, fail and are refused, then durations, failures and pool gauges appear in the registry', async () => {
    const registry = new Registry();
    const observer = workerPoolMetrics(registry, () => STATS);
    observer.succeeded('verifyPasswordBlocking', 0.12);
    observer.failed('verifyPasswordBlocking', 0.2);
    observer.rejected('verifyPasswordBlocking');
    observer.rejected('gzipNdjsonPage');
    const text = await registry.metrics();
    expect(text).to.include('parley_worker_task_duration_seconds_count{task="verifyPasswordBlocking",outcome="ok"} 1');
    expect(text).to.include(
      'parley_worker_task_duration_seconds_count{task="verifyPasswordBlocking",outcome="error"} 1',
    );
    expect(text).to.include('parley_worker_task_failures_total{task="verifyPasswordBlocking",reason="error"} 1');
    expect(text).to.include('parley_worker_task_failures_total{task="verifyPasswordBlocking",reason="overloaded"} 1');
    expect(text).to.include('parley_worker_task_failures_total{task="gzipNdjsonPage",reason="overloaded"} 1');
    expect(text).to.include('parley_worker_pool_threads 2');
    expect(text).to.include('parley_worker_pool_queued 3');
    expect(text).to.include('# TYPE parley_worker_pool_tasks_completed_total counter');
    expect(text).to.include('parley_worker_pool_tasks_completed_total 7');
  });
});
