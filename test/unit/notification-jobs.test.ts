// Notification jobs: how the relay cuts fresh deliveries into queue jobs (in due order, at most
// NOTIFY_DELIVERIES_PER_JOB each, and only deliveries due within one relay interval of a job's first share it, so
// none waits long for another), and what a job's data names (a job queued before batches named one delivery).
import { expect } from 'chai';
import { groupByDueTime } from '../../src/jobs/relay.js';
import { deliveryIdsOf } from '../../src/jobs/queues.js';
import type { DeliveryToQueue } from '../../src/db/notifications.repository.js';

const due = (id: string, atMs: number): DeliveryToQueue => ({
  deliveryId: id,
  dueAt: new Date(atMs),
  requeue: false,
  jobId: null,
});
const ids = (groups: DeliveryToQueue[][]) => groups.map((group) => group.map((d) => d.deliveryId));

describe('unit: relay grouping of deliveries into jobs', () => {
  it('when deliveries are due together, then they share jobs of at most perJob, in due order', () => {
    const groups = groupByDueTime([due('c', 20), due('a', 0), due('b', 10), due('d', 30), due('e', 40)], 2, 100);
    expect(ids(groups)).to.deep.equal([['a', 'b'], ['c', 'd'], ['e']]);
  });

  it('when a delivery is due later than the spread after a job first, then it starts another job', () => {
    const groups = groupByDueTime([due('a', 0), due('b', 100), due('c', 101), due('d', 30_000)], 50, 100);
    expect(ids(groups)).to.deep.equal([['a', 'b'], ['c'], ['d']]);
  });

  it('when there is nothing to queue, then there are no jobs', () => {
    expect(groupByDueTime([], 50, 100)).to.deep.equal([]);
  });
});

describe('unit: what a notification job carries', () => {
  it('when a job names its deliveries, then those are run; when it is one queued before batches, then its one delivery', () => {
    expect(deliveryIdsOf({ deliveryIds: ['a', 'b'] })).to.deep.equal(['a', 'b']);
    expect(deliveryIdsOf({ deliveryId: 'old' })).to.deep.equal(['old']);
    expect(deliveryIdsOf({})).to.deep.equal([]);
  });
});
