import { expect } from 'chai';
import { retryAfterSec } from '../../src/cpu/worker-pool.js';

describe('worker pool: retryAfterSec', () => {
  it('when the queue drains within a second, then clients are asked to wait one second', () => {
    expect(retryAfterSec({ queued: 1, maxThreads: 1, meanRunMs: 300 })).to.equal(1);
    expect(retryAfterSec({ queued: 0, maxThreads: 2, meanRunMs: 0 })).to.equal(1);
  });

  it('when queued and running tasks need longer, then the wait is their time spread over the threads, rounded up', () => {
    // 16 queued + 2 running, 200 ms each, on 2 threads: 1.8 s.
    expect(retryAfterSec({ queued: 16, maxThreads: 2, meanRunMs: 200 })).to.equal(2);
    // 17 queued + 1 running, 250 ms each, on 1 thread: 4.5 s.
    expect(retryAfterSec({ queued: 17, maxThreads: 1, meanRunMs: 250 })).to.equal(5);
  });

  it('when the estimate is very long, then it is capped at 30 seconds', () => {
    expect(retryAfterSec({ queued: 1_000, maxThreads: 1, meanRunMs: 5_000 })).to.equal(30);
  });
});
