import { expect } from 'chai';
import { PerMinuteCounter, snapshotFromReport } from '../../src/ops/pm2-metrics.js';

describe('pm2 monit metrics', () => {
  it('when the health report has its sections, then their numbers are read; absent ones read as 0', () => {
    const report = {
      sockets: { connected: 7 },
      eventLoopLagMs: 3.5,
      db: { primary: { total: 4, idle: 1, waiting: 2 } },
      workerPool: { threads: 2, queued: 5, completed: 9 },
      uploadThreads: { threads: 1, running: 3, queued: 0 },
      memoryGuard: { state: 'warning' },
      memory: { rss: 200 * 1024 * 1024, heapUsed: 50 * 1024 * 1024 },
    };
    expect(snapshotFromReport(report)).to.deep.equal({
      sockets: 7,
      eventLoopLagMs: 3.5,
      dbPoolWaiting: 2,
      workerPoolQueued: 5,
      uploadsReceiving: 3,
      memoryGuard: 'warning',
      heapUsedMb: 50,
    });
    expect(snapshotFromReport({})).to.deep.equal({
      sockets: 0,
      eventLoopLagMs: 0,
      dbPoolWaiting: 0,
      workerPoolQueued: 0,
      uploadsReceiving: 0,
      memoryGuard: 'off',
      heapUsedMb: 0,
    });
  });

  it('when a minute passes, then requests older than it stop counting', () => {
    let now = 1_000_000;
    const counter = new PerMinuteCounter(() => now);
    counter.add();
    counter.add();
    now += 30_000;
    counter.add();
    expect(counter.perMinute()).to.equal(3);
    now += 31_000;
    expect(counter.perMinute()).to.equal(1);
    now += 120_000;
    expect(counter.perMinute()).to.equal(0);
  });
});
