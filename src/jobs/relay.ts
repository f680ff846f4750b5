// The outbox relay: moves what PostgreSQL says must run onto the queue. Each pass fans new outbox rows out into
// deliveries, queues the deliveries and export jobs not queued yet, and looks up those queued long ago that are
// still not done: a job Redis lost (an empty restart, a failover that dropped writes) is added again under the
// same job id, and one BullMQ gave up on for its own reasons (a job stalled too often) is retried. Rows leave
// PostgreSQL only when their job finished or was dead-lettered, so nothing is lost between the two stores.
import type { Queue } from 'bullmq';
import type { Logger } from '../core/logger.js';
import { OutageLog } from '../core/outage-log.js';
import type { Database } from '../db/database.js';
import { claimJobsToQueue } from '../db/jobs.repository.js';
import {
  assignDeliveryJobs,
  claimDeliveriesToQueue,
  fanOutOutbox,
  type DeliveryToQueue,
} from '../db/notifications.repository.js';
import { deliveryJobId, deliveryJobOptions, exportJobId, exportJobOptions, type Queues } from './queues.js';

export interface RelaySettings {
  intervalMs: number;
  batch: number;
  recheckMs: number;
  /** Undefined when notifications are off: the outbox is not read. */
  notify?: { delayMs: number; maxAttempts: number; perJob: number };
  exportMaxAttempts: number;
}

export interface RelayPass {
  fannedOut: number;
  queued: number;
  requeued: number;
}

export class OutboxRelay {
  private readonly stop = new AbortController();
  private loop?: Promise<void>;

  constructor(
    private readonly db: Database,
    private readonly queues: Queues,
    private readonly settings: RelaySettings,
    private readonly log: Logger,
  ) {}

  start(): void {
    const outage = new OutageLog(this.log, 'outbox relay');
    this.loop = (async () => {
      while (!this.stop.signal.aborted) {
        let busy = false;
        try {
          const pass = await this.pass();
          busy = pass.fannedOut >= this.settings.batch || pass.queued >= this.settings.batch;
          outage.recovered();
        } catch (error) {
          outage.failed(error);
        }
        // A full pass means more is waiting: go again at once.
        if (!busy) await sleepUnless(this.settings.intervalMs, this.stop.signal);
      }
    })();
  }

  /** One pass; exported for tests that drive the relay step by step. */
  async pass(): Promise<RelayPass> {
    const { batch, recheckMs, notify } = this.settings;
    let fannedOut = 0;
    if (notify) fannedOut = await fanOutOutbox(this.db.primary, batch, notify.delayMs);
    let queued = 0;
    let requeued = 0;
    if (notify) {
      const deliveries = await claimDeliveriesToQueue(this.db.primary, batch, recheckMs);
      const jobs = groupByDueTime(
        deliveries.filter((d) => !d.requeue),
        notify.perJob,
        this.settings.intervalMs,
      ).map((group) => ({ jobId: deliveryJobId(group[0]!.deliveryId), deliveries: group }));
      if (jobs.length > 0) {
        // Named on the rows first: a relay that stops before adding the jobs leaves rows that say which job to
        // look for, and the recheck adds it.
        await assignDeliveryJobs(
          this.db.primary,
          jobs.flatMap((job) => job.deliveries.map((d) => d.deliveryId)),
          jobs.flatMap((job) => job.deliveries.map(() => job.jobId)),
        );
        await this.queues.notifications.addBulk(
          jobs.map((job) => deliveryJob(notify.maxAttempts, job.jobId, job.deliveries)),
        );
        queued += jobs.reduce((sum, job) => sum + job.deliveries.length, 0);
      }
      // Looked up together, one question per job: many can be waiting out a long backoff while a receiver is down.
      const byJob = new Map<string, DeliveryToQueue[]>();
      for (const d of deliveries.filter((d) => d.requeue)) {
        const jobId = d.jobId ?? deliveryJobId(d.deliveryId);
        const group = byJob.get(jobId);
        if (group) group.push(d);
        else byJob.set(jobId, [d]);
      }
      const rechecked = await Promise.all(
        [...byJob].map(([jobId, group]) =>
          this.ensureQueued(this.queues.notifications, jobId, () => {
            const job = deliveryJob(notify.maxAttempts, jobId, group);
            return this.queues.notifications.add(job.name, job.data, job.opts);
          }),
        ),
      );
      requeued += rechecked.filter(Boolean).length;
    }
    for (const job of await claimJobsToQueue(this.db.primary, batch, recheckMs)) {
      const add = () =>
        this.queues.exports.add('export', { jobId: job.id }, exportJobOptions(this.settings.exportMaxAttempts, job.id));
      if (!job.requeue) {
        await add();
        queued += 1;
      } else if (await this.ensureQueued(this.queues.exports, exportJobId(job.id), add)) requeued += 1;
    }
    if (requeued > 0) this.log.warn({ requeued }, 'relay: jobs missing from the queue were queued again');
    return { fannedOut, queued, requeued };
  }

  /** True when the job had to be put back: missing from Redis, or failed there while its row says it is not done. */
  private async ensureQueued(queue: Queue, jobId: string, add: () => Promise<unknown>): Promise<boolean> {
    const state = await queue.getJobState(jobId);
    if (state === 'unknown') {
      await add();
      return true;
    }
    if (state === 'failed') {
      await (await queue.getJob(jobId))?.retry('failed');
      return true;
    }
    return false;
  }

  async close(): Promise<void> {
    this.stop.abort();
    await this.loop;
  }
}

/** The queue job that carries these deliveries, due when the last of them is: none goes before its time. */
function deliveryJob(maxAttempts: number, jobId: string, deliveries: DeliveryToQueue[]) {
  const dueAt = Math.max(...deliveries.map((d) => d.dueAt.getTime()));
  return {
    name: 'deliver',
    data: { deliveryIds: deliveries.map((d) => d.deliveryId) },
    opts: deliveryJobOptions(maxAttempts, jobId, dueAt - Date.now()),
  };
}

/**
 * Deliveries in due order, cut into jobs of at most `perJob` whose due times lie within `spreadMs` of the first's:
 * the relay's own interval, the lateness a delivery already has.
 */
export function groupByDueTime(deliveries: DeliveryToQueue[], perJob: number, spreadMs: number): DeliveryToQueue[][] {
  const groups: DeliveryToQueue[][] = [];
  for (const delivery of [...deliveries].sort((a, b) => a.dueAt.getTime() - b.dueAt.getTime())) {
    const open = groups.at(-1);
    if (open && open.length < perJob && delivery.dueAt.getTime() - open[0]!.dueAt.getTime() <= spreadMs)
      open.push(delivery);
    else groups.push([delivery]);
  }
  return groups;
}

function sleepUnless(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}
