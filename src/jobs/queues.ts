// The job queues (BullMQ on Redis) and how every process opens them: the API adds export jobs and reads the
// figures for /metrics and the dashboard, the jobs app (src/jobs/main.ts) runs them. Redis is not the record of
// what must run: PostgreSQL is (the outbox and the jobs table), and the relay puts back what Redis lost.
import { Queue, type ConnectionOptions, type JobsOptions } from 'bullmq';
import type { Config } from '../config.js';

export const QUEUE_NAMES = { notifications: 'notifications', exports: 'exports' } as const;
export type QueueName = (typeof QUEUE_NAMES)[keyof typeof QUEUE_NAMES];

/**
 * What a notification job carries: the ids of the deliveries it runs (several due together share a job, so the
 * queue and the database see one round of work for them); everything else is in PostgreSQL. `deliveryId`: a job
 * added before batches, still read.
 */
export interface DeliveryJob {
  deliveryIds?: string[];
  deliveryId?: string;
}

export const deliveryIdsOf = (data: DeliveryJob): string[] =>
  data.deliveryIds ?? (data.deliveryId ? [data.deliveryId] : []);
export interface ExportJob {
  jobId: string;
}

/**
 * A job's id, named after the first delivery it carries (each delivery is in one job) and recorded on the rows, so
 * the relay can ask the queue about it and add it again under the same id (a no-op while it exists). An export
 * has one job of its own.
 */
export const deliveryJobId = (firstDeliveryId: string) => `delivery-${firstDeliveryId}`;
export const exportJobId = (jobId: string) => `export-${jobId}`;

/** Database failures and the like also use up BullMQ attempts; the POSTs are counted in PostgreSQL. */
const EXTRA_ATTEMPTS_FOR_INFRASTRUCTURE = 5;
/** Finished jobs kept in Redis for the dashboard; the durable record is PostgreSQL. */
const KEEP_COMPLETED = { count: 1_000, age: 3_600 };
const KEEP_FAILED = { count: 5_000, age: 7 * 86_400 };

export function deliveryJobOptions(maxAttempts: number, jobId: string, delayMs: number): JobsOptions {
  return {
    jobId,
    delay: Math.max(0, delayMs),
    attempts: maxAttempts + EXTRA_ATTEMPTS_FOR_INFRASTRUCTURE,
    backoff: { type: 'webhook' },
    removeOnComplete: KEEP_COMPLETED,
    removeOnFail: KEEP_FAILED,
  };
}

export function exportJobOptions(maxAttempts: number, jobId: string): JobsOptions {
  return {
    jobId: exportJobId(jobId),
    attempts: maxAttempts,
    backoff: { type: 'exponential', delay: 2_000 },
    removeOnComplete: KEEP_COMPLETED,
    removeOnFail: KEEP_FAILED,
  };
}

/** BullMQ's key prefix: inside the deployment's key space (REDIS_PREFIX), so test runs and deployments never share. */
export const bullPrefix = (config: Pick<Config, 'redis'>) => `${config.redis.prefix}bull`;

/**
 * BullMQ opens its own connections (its blocking commands cannot share Parley's command connection, and it refuses
 * ioredis's keyPrefix). `forWorker`: workers must wait out a Redis outage (maxRetriesPerRequest: null); queues
 * used by HTTP handlers fail fast instead (no offline queue), so a request never waits on a dead Redis.
 */
export function bullConnection(config: Pick<Config, 'redis'>, forWorker: boolean): ConnectionOptions {
  const { url, sentinels, sentinelName } = config.redis;
  const where = sentinels.length > 0 ? { sentinels: sentinels.map((s) => ({ ...s })), name: sentinelName } : { url };
  return forWorker
    ? { ...where, maxRetriesPerRequest: null }
    : { ...where, maxRetriesPerRequest: 1, enableOfflineQueue: false };
}

export interface Queues {
  notifications: Queue<DeliveryJob>;
  exports: Queue<ExportJob>;
  all(): Array<Queue<DeliveryJob> | Queue<ExportJob>>;
  close(): Promise<void>;
}

export function openQueues(config: Pick<Config, 'redis'>, forWorker: boolean): Queues {
  const options = { connection: bullConnection(config, forWorker), prefix: bullPrefix(config) };
  const notifications = new Queue<DeliveryJob>(QUEUE_NAMES.notifications, options);
  const exports = new Queue<ExportJob>(QUEUE_NAMES.exports, options);
  // A queue's connection errors are retried by ioredis; without a listener they would be thrown as 'error' events.
  for (const queue of [notifications, exports]) queue.on('error', () => undefined);
  return {
    notifications,
    exports,
    all: () => [notifications, exports],
    async close() {
      await Promise.allSettled([notifications.close(), exports.close()]);
    },
  };
}

export const JOB_STATES = ['waiting', 'active', 'delayed', 'failed', 'completed'] as const;
export type JobState = (typeof JOB_STATES)[number];

/** Jobs per state of each queue (waiting includes prioritized). */
export async function queueFigures(queues: Queues): Promise<Record<QueueName, Record<JobState, number>>> {
  const [notifications, exports] = await Promise.all(
    queues.all().map(async (queue) => {
      const counts = await queue.getJobCounts('waiting', 'prioritized', 'active', 'delayed', 'failed', 'completed');
      return {
        waiting: (counts.waiting ?? 0) + (counts.prioritized ?? 0),
        active: counts.active ?? 0,
        delayed: counts.delayed ?? 0,
        failed: counts.failed ?? 0,
        completed: counts.completed ?? 0,
      };
    }),
  );
  return { notifications: notifications!, exports: exports! };
}
