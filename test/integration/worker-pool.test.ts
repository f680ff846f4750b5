// The Piscina pool with real worker threads running the compiled tasks (dist/, built by `npm test`).
import { setTimeout as sleep } from 'node:timers/promises';
import { expect } from 'chai';
import os from 'node:os';
import { AppError } from '../../src/core/errors.js';
import { TASKS } from '../../src/cpu/tasks.js';
import { WorkerPool, type TaskObserver, type WorkerPoolSettings } from '../../src/cpu/worker-pool.js';
import { FAULTY, THREAD_PRIORITY } from '../support/fixture-tasks.js';
import { until } from '../support/sockets.js';

const SETTINGS: WorkerPoolSettings = {
  maxThreads: 1,
  maxQueue: 1,
  idleTimeoutMs: 1_000,
  maxOldGenerationSizeMb: 32,
  closeTimeoutMs: 2_000,
  niceIncrement: 0,
};

function recordingObserver() {
  const events: string[] = [];
  const observer: TaskObserver = {
    succeeded: (task) => events.push(`ok:${task}`),
    failed: (task) => events.push(`failed:${task}`),
    rejected: (task) => events.push(`rejected:${task}`),
  };
  return { events, observer };
}

const settle = <T>(promise: Promise<T>) =>
  promise.then(
    (value) => ({ ok: true as const, value }),
    (error: unknown) => ({ ok: false as const, error }),
  );

async function stillServes(pool: WorkerPool): Promise<void> {
  const hash = await pool.run(TASKS.hashPassword, { password: 'still here', cost: 10 });
  expect(await pool.run(TASKS.verifyPassword, { password: 'still here', hash })).to.equal(true);
}

describe('worker pool', () => {
  let pool: WorkerPool | undefined;
  afterEach(async () => {
    await pool?.close();
    pool = undefined;
  });

  it('when tasks run, then they return the task function results and the stats count them', async () => {
    const { events, observer } = recordingObserver();
    pool = new WorkerPool({ ...SETTINGS, maxThreads: 2, maxQueue: 8 }, observer);
    await stillServes(pool);
    const stats = pool.stats();
    expect(stats.completed).to.equal(2);
    expect(stats.threads).to.be.within(1, 2);
    expect(stats).to.include({ maxThreads: 2, maxQueue: 8, queued: 0, failed: 0, rejected: 0 });
    expect(stats.meanRunMs).to.be.greaterThan(0);
    expect(stats.utilization).to.be.greaterThan(0).and.at.most(1);
    expect(events).to.deep.equal(['ok:hashPasswordBlocking', 'ok:verifyPasswordBlocking']);
  });

  for (const niceIncrement of [0, 10]) {
    it(`when the pool is set to nice ${niceIncrement}, then its threads run that much below the main thread, which keeps its priority`, async () => {
      // Per-thread nice values are Linux behaviour, which is where Parley runs.
      pool = new WorkerPool({ ...SETTINGS, niceIncrement });
      const mainPriority = os.getPriority();
      expect(await pool.run(THREAD_PRIORITY, {})).to.equal(Math.min(19, mainPriority + niceIncrement));
      expect(os.getPriority()).to.equal(mainPriority);
    });
  }

  it("when one thread is kept busy for most of the pool's life, then utilization says so", async () => {
    pool = new WorkerPool(SETTINGS);
    await pool.run(FAULTY.hold, { ms: 400 });
    // One of one thread held for 400 ms of a life of a little more (worker start-up included; Piscina 5.3.2 says ~0.0004).
    expect(pool.stats().utilization).to.be.within(0.1, 1);
  });

  it('when the queue is full, then the extra task is rejected as overloaded with a Retry-After, and the rest finish', async () => {
    const { events, observer } = recordingObserver();
    pool = new WorkerPool(SETTINGS, observer);
    // One thread, one queue slot: the first runs, the second waits, the third and fourth have nowhere to go.
    const outcomes = await Promise.all([1, 2, 3, 4].map(() => settle(pool!.run(FAULTY.hold, { ms: 300 }))));
    const rejected = outcomes.filter((outcome) => !outcome.ok);
    expect(outcomes.filter((outcome) => outcome.ok)).to.have.length(2);
    expect(rejected).to.have.length(2);
    for (const outcome of rejected) {
      const error = (outcome as { error: unknown }).error;
      expect(error).to.be.instanceOf(AppError);
      expect(error).to.include({ code: 'overloaded', status: 503, retryAfterSec: 1 });
    }
    expect(pool.stats().rejected).to.equal(2);
    expect(events.filter((event) => event === 'rejected:hold')).to.have.length(2);
    await stillServes(pool);
  });

  it('when a task throws, then that run rejects with its error and the pool keeps serving', async () => {
    const { events, observer } = recordingObserver();
    pool = new WorkerPool(SETTINGS, observer);
    const outcome = await settle(pool.run(FAULTY.fail, { message: 'task blew up' }));
    expect(outcome.ok).to.equal(false);
    expect((outcome as { error: Error }).error.message).to.equal('task blew up');
    expect(pool.stats().failed).to.equal(1);
    expect(events).to.deep.equal(['failed:fail']);
    await stillServes(pool);
  });

  it('when a task exceeds the worker memory limit, then that run rejects and a fresh worker serves the next', async function () {
    this.timeout(30_000);
    pool = new WorkerPool(SETTINGS);
    const outcome = await settle(pool.run(FAULTY.exhaustHeap, {}));
    expect(outcome.ok).to.equal(false);
    expect((outcome as { error: { code?: string } }).error.code).to.equal('ERR_WORKER_OUT_OF_MEMORY');
    await stillServes(pool);
  });

  it('when nothing has run yet, then the stats are zeros rather than NaN', () => {
    pool = new WorkerPool(SETTINGS);
    expect(pool.stats()).to.include({ completed: 0, failed: 0, rejected: 0, queued: 0, utilization: 0, meanRunMs: 0 });
  });

  it('when one task runs, one waits and one is refused, then the stats count one running and one queued', async () => {
    pool = new WorkerPool(SETTINGS);
    const held = [settle(pool.run(FAULTY.hold, { ms: 1_500 })), settle(pool.run(FAULTY.hold, { ms: 10 }))];
    const refused = await settle(pool.run(FAULTY.hold, { ms: 10 }));
    expect(refused.ok).to.equal(false);
    // The first task runs once the thread has started.
    await until(() => pool!.stats().running === 1, 1_400, 'the first task on its thread');
    expect(pool.stats()).to.include({ running: 1, queued: 1, rejected: 1 });
    await Promise.all(held);
    expect(pool.stats()).to.include({ running: 0, queued: 0 });
  });

  it('when the pool closes with work in flight, then the work finishes first', async () => {
    pool = new WorkerPool(SETTINGS);
    const running = pool.run(FAULTY.hold, { ms: 200 });
    await sleep(50);
    await pool.close();
    expect(await running).to.equal(200);
    pool = undefined;
  });

  it('when in-flight work outlasts the close timeout, then close still returns and the work is cut off', async () => {
    pool = new WorkerPool({ ...SETTINGS, closeTimeoutMs: 100 });
    const running = settle(pool.run(FAULTY.hold, { ms: 10_000 }));
    await sleep(50);
    await pool.close();
    expect((await running).ok).to.equal(false);
    pool = undefined;
  });
});
