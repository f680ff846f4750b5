import { expect } from 'chai';
import { Registry } from 'prom-client';
import type { WorkerPoolStats } from '../../src/cpu/worker-pool.js';
import { WorkerPoolMetrics } from '../../src/cpu/worker-pool-metrics.js';

const STATS: WorkerPoolStats = {
  threads: 2,
  maxThreads: 2,
  running: 2,
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
    const observer = new WorkerPoolMetrics(registry).observe('cpu', () => STATS);
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
    expect(text).to.include('parley_worker_pool_threads{pool="cpu"} 2');
    expect(text).to.include('parley_worker_pool_running{pool="cpu"} 2');
    expect(text).to.include('parley_worker_pool_queued{pool="cpu"} 3');
    expect(text).to.include('# TYPE parley_worker_pool_tasks_completed_total counter');
    expect(text).to.include('parley_worker_pool_tasks_completed_total{pool="cpu"} 7');
  });

  it('when two pools are observed, then each has its own gauges and their tasks share the task series', async () => {
    const registry = new Registry();
    const metrics = new WorkerPoolMetrics(registry);
    metrics.observe('cpu', () => STATS).succeeded('verifyPasswordBlocking', 0.1);
    metrics
      .observe('upload', () => ({ ...STATS, threads: 1, running: 5, queued: 0, completed: 40 }))
      .rejected('receiveUploadStream');
    const text = await registry.metrics();
    expect(text).to.include('parley_worker_pool_threads{pool="cpu"} 2');
    expect(text).to.include('parley_worker_pool_threads{pool="upload"} 1');
    expect(text).to.include('parley_worker_pool_running{pool="upload"} 5');
    expect(text).to.include('parley_worker_pool_queued{pool="upload"} 0');
    expect(text).to.include('parley_worker_pool_tasks_completed_total{pool="upload"} 40');
    expect(text).to.include('parley_worker_pool_tasks_completed_total{pool="cpu"} 7');
    expect(text).to.include('parley_worker_task_failures_total{task="receiveUploadStream",reason="overloaded"} 1');
    expect(text).to.include('parley_worker_task_duration_seconds_count{task="verifyPasswordBlocking",outcome="ok"} 1');
  });
});
