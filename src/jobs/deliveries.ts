// Runs a notification job: the deliveries it names, due together, each as before but with one statement per step
// for all of them. At their due time: seal them; those whose user has a live socket somewhere, or nothing left
// unread, are done without a POST; the others get their payload fixed (once: every retry sends the same bytes
// under the same deliveryId) and are POSTed, in parallel. Delivered or unneeded: the row goes. A retryable failure
// counts an attempt in PostgreSQL and stays in the job, which BullMQ retries with backoff for those alone; past
// NOTIFY_MAX_ATTEMPTS, or on an answer retrying cannot change, the row moves to the dead letters.
import { UnrecoverableError, type Job } from 'bullmq';
import type { Logger } from '../core/logger.js';
import type { Database } from '../db/database.js';
import * as store from '../db/notifications.repository.js';
import type { PresenceSource } from '../services/presence.service.js';
import { deliveryIdsOf, type DeliveryJob } from './queues.js';
import type { PostOutcome } from './webhook.js';

export interface NotificationSettings {
  maxAttempts: number;
  batchMax: number;
}

/** Thrown for failures BullMQ should retry; the backoff strategy reads the receiver's Retry-After from it. */
export class RetryableDeliveryError extends Error {
  constructor(
    message: string,
    readonly retryAfterMs?: number,
  ) {
    super(message);
    this.name = 'RetryableDeliveryError';
  }
}

/** How a job's deliveries ended this time: counts by outcome ('retrying' stay in the job). */
export interface DeliveryResults {
  delivered: number;
  /** Delivered or dead-lettered meanwhile (another process, an earlier run of this job). */
  gone: number;
  online: number;
  read: number;
  deadLettered: number;
  retrying: number;
}

export interface DeliveryDeps {
  db: Database;
  presence: PresenceSource;
  post(body: string, deliveryId: string): Promise<PostOutcome>;
  settings: NotificationSettings;
  log: Logger;
  /** Observes each POST's outcome (pm2 metrics, tests). */
  onAttempt?(outcome: PostOutcome): void;
}

export function deliveryProcessor(deps: DeliveryDeps): (job: Job<DeliveryJob>) => Promise<DeliveryResults> {
  return async (job) => {
    const deliveryIds = deliveryIdsOf(job.data);
    const { results, retry } = await runDeliveries(deps, deliveryIds);
    if (retry.length > 0) {
      // The next attempt of this job is for these alone; the others are finished.
      await job.updateData({ deliveryIds: retry.map((failure) => failure.deliveryId) });
      const retryAfterMs = Math.max(0, ...retry.map((failure) => failure.retryAfterMs ?? 0));
      throw new RetryableDeliveryError(retry[0]!.reason, retryAfterMs > 0 ? retryAfterMs : undefined);
    }
    if (results.deadLettered > 0 && results.deadLettered === deliveryIds.length)
      throw new UnrecoverableError(`dead-lettered: ${results.deadLettered} of ${deliveryIds.length}`);
    return results;
  };
}

interface RetryableFailure {
  deliveryId: string;
  reason: string;
  retryAfterMs?: number;
}

async function runDeliveries(
  deps: DeliveryDeps,
  deliveryIds: string[],
): Promise<{ results: DeliveryResults; retry: RetryableFailure[] }> {
  const { db, settings, log } = deps;
  const results: DeliveryResults = { delivered: 0, gone: 0, online: 0, read: 0, deadLettered: 0, retrying: 0 };
  const sealed = await store.sealDeliveries(db.primary, deliveryIds);
  const finished: string[] = [];
  const fresh = sealed.filter((delivery) => !delivery.frozen);
  const presence = fresh.length > 0 ? await deps.presence.lookup([...new Set(fresh.map((d) => d.userId))]) : {};
  const offline: string[] = [];
  for (const delivery of fresh) {
    if (presence[delivery.userId]?.status === 'online') {
      finished.push(delivery.deliveryId);
      results.online += 1;
    } else offline.push(delivery.deliveryId);
  }
  const retries = sealed.filter((delivery) => delivery.frozen).map((delivery) => delivery.deliveryId);
  const [firsts, again] = await Promise.all([
    offline.length > 0 ? store.freezePayloads(db.primary, offline, settings.batchMax) : [],
    retries.length > 0 ? store.startRetries(db.primary, retries) : [],
  ]);
  const attempts = [...firsts, ...again];
  const attempted = new Set(attempts.map((attempt) => attempt.deliveryId));
  for (const id of offline)
    if (!attempted.has(id)) {
      finished.push(id);
      results.read += 1;
    }
  results.gone = deliveryIds.length - sealed.length + retries.filter((id) => !attempted.has(id)).length;

  const outcomes = await Promise.all(
    attempts.map(async (attempt) => {
      const outcome = await deps.post(attempt.payload, attempt.deliveryId);
      deps.onAttempt?.(outcome);
      return { attempt, outcome };
    }),
  );
  const dead = { ids: [] as string[], errors: [] as string[] };
  const retry: RetryableFailure[] = [];
  for (const { attempt, outcome } of outcomes) {
    if (outcome.ok) {
      finished.push(attempt.deliveryId);
      results.delivered += 1;
      continue;
    }
    const reason = `attempt ${attempt.attempts}: ${outcome.reason}`;
    if (!outcome.retry || attempt.attempts >= settings.maxAttempts) {
      dead.ids.push(attempt.deliveryId);
      dead.errors.push(reason);
      log.warn(
        { deliveryId: attempt.deliveryId, attempts: attempt.attempts, reason: outcome.reason },
        'notification dead-lettered',
      );
    } else {
      retry.push({ deliveryId: attempt.deliveryId, reason, ...retryAfter(outcome) });
    }
  }
  results.deadLettered = dead.ids.length;
  results.retrying = retry.length;
  await Promise.all([
    finished.length > 0 ? store.finishDeliveries(db.primary, finished) : undefined,
    dead.ids.length > 0 ? store.deadLetter(db.primary, dead.ids, dead.errors) : undefined,
    retry.length > 0
      ? store.recordFailures(
          db.primary,
          retry.map((failure) => failure.deliveryId),
          retry.map((failure) => failure.reason),
        )
      : undefined,
  ]);
  return { results, retry };
}

const retryAfter = (outcome: PostOutcome): { retryAfterMs?: number } =>
  !outcome.ok && outcome.retry && outcome.retryAfterMs !== undefined ? { retryAfterMs: outcome.retryAfterMs } : {};
