// Composition root of the jobs app (the parley-jobs PM2 app; main.ts is its process entry): the database, Redis
// for presence, the BullMQ workers, the outbox relay and the export sweeper. Tests build it in-process too.
import { Worker } from 'bullmq';
import type { Config } from '../config.js';
import type { Logger } from '../core/logger.js';
import { Database } from '../db/database.js';
import { migrate } from '../db/migrate.js';
import { assertTasksCompiled } from '../cpu/tasks.js';
import { WorkerPool } from '../cpu/worker-pool.js';
import { createRedis } from '../redis/client.js';
import { RedisPresence } from '../services/presence-redis.js';
import { ConversationExportService } from '../services/export.service.js';
import { deliveryProcessor, RetryableDeliveryError } from './deliveries.js';
import { exportProcessor, sweepExpiredExports } from './exports.js';
import { bullConnection, bullPrefix, openQueues, QUEUE_NAMES, type Queues } from './queues.js';
import { OutboxRelay } from './relay.js';
import { backoffMs, WebhookClient, type PostOutcome } from './webhook.js';
import { checkWebhookTarget } from './webhook-target.js';

/** Deliveries in flight per jobs process when the capacity plan gave none (capacity/plan.ts planJobs). */
export const DEFAULT_JOBS_CONCURRENCY = 32;
/** One export at a time per jobs process: each keeps a worker thread busy compressing. */
const EXPORT_CONCURRENCY = 1;
const SWEEP_INTERVAL_MAX_MS = 60_000;
/** After the deadline: time for aborted jobs to be marked failed (and so retried) before the connections close. */
const FORCED_CLOSE_GRACE_MS = 500;

export interface JobsRuntime {
  queues: Queues;
  db: Database;
  relay: OutboxRelay;
  /** Jobs running now, per queue (pm2 metrics). */
  figures(): { attempts: number; delivered: number; failedAttempts: number };
  /**
   * Stops taking jobs, waits up to `deadlineMs` for those running to finish, then hands the rest back: their POSTs
   * are aborted (a failed attempt, retried by any process) or, failing that, their locks expire (JOBS_LOCK_MS).
   * Their rows stay in PostgreSQL either way.
   */
  close(deadlineMs: number): Promise<void>;
}

export class JobsConfigError extends Error {}

export async function startJobs(config: Config, log: Logger): Promise<JobsRuntime> {
  if (!config.jobs.enabled)
    throw new JobsConfigError('the jobs app needs REDIS_URL or REDIS_SENTINELS (the job queue)');
  if (!config.database.url)
    throw new JobsConfigError('the jobs app needs DATABASE_URL (the embedded database serves one process)');
  const notify = config.jobs.notify;
  if (notify && !notify.allowPrivate) {
    try {
      await checkWebhookTarget(notify.url);
    } catch (error) {
      throw new JobsConfigError(`NOTIFY_WEBHOOK_URL: ${(error as Error).message}`);
    }
  }
  assertTasksCompiled();
  const db = Database.connect(
    config.database.url,
    [],
    { ...config.database, max: config.database.poolMax, min: config.database.poolMin },
    log.child({ module: 'db' }),
  );
  await migrate(db.primary, log.child({ module: 'migrate' }));
  const redis = createRedis(config.redis, config.redis.prefix, log.child({ module: 'redis' }));
  await redis.connect();
  const presence = new RedisPresence(redis, config.realtime.presenceTtlSec, log.child({ module: 'presence' }));
  const queues = openQueues(config, true);
  const workerPool = new WorkerPool(config.cpu);
  const exporter = new ConversationExportService(db, workerPool, config.cpu, log.child({ module: 'export' }));

  const counts = { attempts: 0, delivered: 0, failedAttempts: 0 };
  const concurrency = config.jobs.concurrency ?? DEFAULT_JOBS_CONCURRENCY;
  const common = {
    connection: bullConnection(config, true),
    prefix: bullPrefix(config),
    lockDuration: config.jobs.lockMs,
    stalledInterval: config.jobs.lockMs,
    // A job whose process died twice in a row is still not failed by BullMQ: the relay would only retry it.
    maxStalledCount: 5,
  };
  const workers: Worker[] = [];
  let webhook: WebhookClient | undefined;
  if (notify) {
    webhook = new WebhookClient(notify, concurrency);
    const client = webhook;
    const processor = deliveryProcessor({
      db,
      presence,
      post: (body, deliveryId) => client.post(body, deliveryId),
      settings: notify,
      log: log.child({ module: 'notifications' }),
      onAttempt: (outcome: PostOutcome) => {
        counts.attempts += 1;
        if (outcome.ok) counts.delivered += 1;
        else counts.failedAttempts += 1;
      },
    });
    workers.push(
      new Worker(QUEUE_NAMES.notifications, processor, {
        ...common,
        concurrency,
        settings: {
          backoffStrategy: (attemptsMade, _type, error) =>
            backoffMs(attemptsMade, notify, error instanceof RetryableDeliveryError ? error.retryAfterMs : undefined),
        },
      }),
    );
  }
  workers.push(
    new Worker(
      QUEUE_NAMES.exports,
      exportProcessor(db, exporter, config.jobs.exports, log.child({ module: 'exports' })),
      { ...common, concurrency: EXPORT_CONCURRENCY },
    ),
  );
  for (const worker of workers) {
    worker.on('error', (error) => log.error({ err: error, queue: worker.name }, 'job worker error'));
    worker.on('failed', (job, error) => {
      if (job && job.attemptsMade < (job.opts.attempts ?? 1))
        log.debug({ jobId: job.id, err: error }, 'job attempt failed');
    });
  }

  const relay = new OutboxRelay(
    db,
    queues,
    {
      ...config.jobs.relay,
      ...(notify
        ? { notify: { delayMs: notify.delayMs, maxAttempts: notify.maxAttempts, perJob: notify.perJob } }
        : {}),
      exportMaxAttempts: config.jobs.exports.maxAttempts,
    },
    log.child({ module: 'relay' }),
  );
  relay.start();
  const sweepLog = log.child({ module: 'export-sweeper' });
  const sweeper = setInterval(
    () =>
      void sweepExpiredExports(db, sweepLog).catch((error: unknown) =>
        sweepLog.error({ err: error }, 'export sweep failed'),
      ),
    Math.max(1_000, Math.min(SWEEP_INTERVAL_MAX_MS, Math.floor(config.jobs.exports.ttlMs / 2))),
  ).unref();

  return {
    queues,
    db,
    relay,
    figures: () => ({ ...counts }),
    async close(deadlineMs) {
      clearInterval(sweeper);
      await relay.close();
      let timer: NodeJS.Timeout | undefined;
      const deadline = new Promise<'late'>((resolve) => (timer = setTimeout(() => resolve('late'), deadlineMs)));
      const finished = await Promise.race([
        Promise.all(workers.map((worker) => worker.close())).then(() => 'finished' as const),
        deadline,
      ]);
      clearTimeout(timer);
      if (finished === 'late') {
        log.warn({ deadlineMs }, 'jobs still running at the shutdown deadline: handed back to the queue');
        // Aborting the POSTs still waiting makes each a failed attempt that BullMQ retries (with backoff, on any
        // process); a job that cannot even be marked is taken up again once its lock expires (JOBS_LOCK_MS).
        webhook?.close();
        await Promise.race([
          Promise.allSettled(workers.map((worker) => worker.close(true))),
          new Promise((resolve) => setTimeout(resolve, FORCED_CLOSE_GRACE_MS)),
        ]);
      }
      webhook?.close();
      await Promise.allSettled([queues.close(), workerPool.close()]);
      redis.disconnect();
      await db.close();
    },
  };
}
