// Runs one notification delivery (a BullMQ job naming a delivery row). At its due time: seal it, and if its user
// still has no live socket anywhere and unread messages in it, fix the payload (once: every retry sends the same
// bytes under the same deliveryId) and POST it. Delivered or unneeded: the row goes. A retryable failure counts an
// attempt in PostgreSQL and is retried by BullMQ with backoff; past NOTIFY_MAX_ATTEMPTS, or on an answer retrying
// cannot change, the row moves to the dead letters and the job fails for good.
import { UnrecoverableError, type Job } from 'bullmq';
import type { Logger } from '../core/logger.js';
import type { Database } from '../db/database.js';
import * as store from '../db/notifications.repository.js';
import type { PresenceSource } from '../services/presence.service.js';
import type { DeliveryJob } from './queues.js';
import type { PostOutcome } from './webhook.js';

export interface NotificationSettings {
  maxAttempts: number;
  batchMax: number;
}

/** Thrown for a failure BullMQ should retry; the backoff strategy reads the receiver's Retry-After from it. */
export class RetryableDeliveryError extends Error {
  constructor(
    message: string,
    readonly retryAfterMs?: number,
  ) {
    super(message);
    this.name = 'RetryableDeliveryError';
  }
}

export type DeliveryResult = 'delivered' | 'gone' | 'online' | 'read';

export interface DeliveryDeps {
  db: Database;
  presence: PresenceSource;
  post(body: string, deliveryId: string): Promise<PostOutcome>;
  settings: NotificationSettings;
  log: Logger;
  /** Observes each POST's outcome (pm2 metrics, tests). */
  onAttempt?(outcome: PostOutcome): void;
}

export function deliveryProcessor(deps: DeliveryDeps): (job: Job<DeliveryJob>) => Promise<DeliveryResult> {
  const { db, settings, log } = deps;
  return async (job) => {
    const { deliveryId } = job.data;
    const sealed = await store.sealDelivery(db.primary, deliveryId);
    if (!sealed) return 'gone';
    let attempt: { payload: string; attempts: number } | undefined;
    if (!sealed.frozen) {
      const presence = await deps.presence.lookup([sealed.userId]);
      if (presence[sealed.userId]?.status === 'online') {
        await store.finishDelivery(db.primary, deliveryId);
        return 'online';
      }
      attempt = await store.freezePayload(db.primary, deliveryId, sealed.userId, settings.batchMax);
      if (!attempt) {
        await store.finishDelivery(db.primary, deliveryId);
        return 'read';
      }
    } else {
      attempt = await store.startRetry(db.primary, deliveryId);
      if (!attempt) return 'gone';
    }
    const outcome = await deps.post(attempt.payload, deliveryId);
    deps.onAttempt?.(outcome);
    if (outcome.ok) {
      await store.finishDelivery(db.primary, deliveryId);
      return 'delivered';
    }
    const reason = `attempt ${attempt.attempts}: ${outcome.reason}`;
    if (!outcome.retry || attempt.attempts >= settings.maxAttempts) {
      await store.deadLetter(db.primary, deliveryId, reason);
      log.warn({ deliveryId, attempts: attempt.attempts, reason: outcome.reason }, 'notification dead-lettered');
      throw new UnrecoverableError(`dead-lettered after ${reason}`);
    }
    await store.recordFailure(db.primary, deliveryId, reason);
    throw new RetryableDeliveryError(reason, outcome.retryAfterMs);
  };
}
