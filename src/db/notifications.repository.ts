// SQL for offline notifications: the outbox the send statement writes (messages.repository.ts insertBatch), the
// fan-out to per-recipient deliveries, and a delivery's life until it is delivered or dead-lettered.
import type { Queryable } from './database.js';
import { MESSAGE_JSON } from './messages.repository.js';

/**
 * Moves up to `limit` outbox rows into deliveries, in one statement (one transaction): each recipient (a member
 * other than the sender, who was a member when the message was sent) gets the message added to their open
 * delivery, or a new one due `delayMs` after the message. Rows taken by another relay are skipped (SKIP LOCKED).
 * Returns how many outbox rows were moved.
 */
export async function fanOutOutbox(db: Queryable, limit: number, delayMs: number): Promise<number> {
  const { rows } = await db.query<{ moved: string }>({
    name: 'notifications.fanOut',
    text: `WITH taken AS (
       DELETE FROM notification_outbox o
        WHERE o.id IN (SELECT id FROM notification_outbox ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED)
       RETURNING o.message_id, o.conversation_id, o.sender_id, o.created_at
     ), recipients AS (
       SELECT t.message_id, t.created_at, cm.user_id
         FROM taken t
         JOIN conversation_members cm ON cm.conversation_id = t.conversation_id AND cm.user_id <> t.sender_id
        WHERE cm.joined_at <= t.created_at
     ), opened AS (
       -- The open delivery keeps its due time: a batch goes out one delay after its first message.
       -- In user order, as every statement that locks several open deliveries takes them (no deadlock cycles).
       INSERT INTO notification_deliveries (user_id, due_at)
       SELECT user_id, min(created_at) + $2 * interval '1 millisecond' FROM recipients GROUP BY user_id ORDER BY user_id
       ON CONFLICT (user_id) WHERE sealed_at IS NULL DO UPDATE SET user_id = EXCLUDED.user_id
       RETURNING delivery_id, user_id
     ), linked AS (
       INSERT INTO notification_delivery_messages (delivery_id, message_id)
       SELECT o.delivery_id, r.message_id FROM recipients r JOIN opened o USING (user_id)
       ON CONFLICT DO NOTHING
     )
     SELECT count(*) AS moved FROM taken`,
    values: [limit, delayMs],
  });
  return Number(rows[0]?.moved ?? 0);
}

/**
 * Locks the deliveries named by $1 in user order. The fan-out upserts open deliveries in user order too, so two
 * statements that each lock several of them always wait in the same direction and never deadlock.
 */
const LOCK_IN_USER_ORDER = `SELECT delivery_id FROM notification_deliveries WHERE delivery_id = ANY($1::uuid[])
  ORDER BY user_id, delivery_id FOR UPDATE`;

export interface DeliveryToQueue {
  deliveryId: string;
  dueAt: Date;
  /** Queued before: the queue is asked whether it still has the job (Redis may have lost it). */
  requeue: boolean;
  /** The job that carries it, once the relay named one (null: its own job, delivery-<deliveryId>). */
  jobId: string | null;
}

/**
 * Deliveries to put on the queue: never queued, or queued more than `recheckMs` ago and still not done. Marked as
 * queued now, in the same statement; a relay that dies before queueing them finds them again after `recheckMs`.
 */
export async function claimDeliveriesToQueue(
  db: Queryable,
  limit: number,
  recheckMs: number,
): Promise<DeliveryToQueue[]> {
  const { rows } = await db.query<{ delivery_id: string; due_at: Date; requeue: boolean; job_id: string | null }>({
    name: 'notifications.claimToQueue',
    text: `WITH picked AS (
       SELECT delivery_id, relayed_at IS NOT NULL AS requeue FROM notification_deliveries
        WHERE relayed_at IS NULL OR relayed_at < now() - $2 * interval '1 millisecond'
        ORDER BY relayed_at NULLS FIRST LIMIT $1 FOR UPDATE SKIP LOCKED
     )
     UPDATE notification_deliveries d SET relayed_at = now() FROM picked p WHERE d.delivery_id = p.delivery_id
     RETURNING d.delivery_id, d.due_at, p.requeue, d.job_id`,
    values: [limit, recheckMs],
  });
  return rows.map((row) => ({
    deliveryId: row.delivery_id,
    dueAt: row.due_at,
    requeue: row.requeue,
    jobId: row.job_id,
  }));
}

/** Records which job carries each delivery (pairs by position), in one statement, before the jobs are added. */
export async function assignDeliveryJobs(db: Queryable, deliveryIds: string[], jobIds: string[]): Promise<void> {
  await db.query({
    name: 'notifications.assignJobs',
    text: `WITH locked AS (${LOCK_IN_USER_ORDER})
           UPDATE notification_deliveries d SET job_id = a.job_id
             FROM locked l JOIN unnest($1::uuid[], $2::text[]) AS a (delivery_id, job_id) USING (delivery_id)
            WHERE d.delivery_id = l.delivery_id`,
    values: [deliveryIds, jobIds],
  });
}

export interface SealedDelivery {
  deliveryId: string;
  userId: string;
  /** Its payload was fixed by an earlier attempt: this one is a retry of the same bytes. */
  frozen: boolean;
}

/**
 * Seals the deliveries (no more messages join them) and says whose each is and whether its payload is fixed already;
 * a delivery that is gone (delivered or dead-lettered meanwhile) is not returned. A separate statement from reading
 * the messages: a fan-out adding to a delivery holds its row, and the read after this sees what that committed.
 */
export async function sealDeliveries(db: Queryable, deliveryIds: string[]): Promise<SealedDelivery[]> {
  const { rows } = await db.query<{ delivery_id: string; user_id: string; frozen: boolean }>({
    name: 'notifications.seal',
    text: `WITH locked AS (${LOCK_IN_USER_ORDER})
           UPDATE notification_deliveries d SET sealed_at = coalesce(d.sealed_at, now())
             FROM locked l WHERE d.delivery_id = l.delivery_id
           RETURNING d.delivery_id::text, d.user_id::text, d.payload IS NOT NULL AS frozen`,
    values: [deliveryIds],
  });
  return rows.map((row) => ({ deliveryId: row.delivery_id, userId: row.user_id, frozen: row.frozen }));
}

export interface DeliveryAttempt {
  deliveryId: string;
  payload: string;
  attempts: number;
}

const attemptOf = (row: { delivery_id: string; payload: string; attempts: number }): DeliveryAttempt => ({
  deliveryId: row.delivery_id,
  payload: row.payload,
  attempts: row.attempts,
});

/**
 * First attempts: builds each delivery's body from its messages that its user still has to hear about (not deleted,
 * after their read cursor, in a conversation they are still a member of; oldest first, at most `limit`), fixes it on
 * the row and counts the attempt, in one statement. `message` is the latest of them. A delivery with nothing left
 * to send (all read), or gone, is not returned. Built by PostgreSQL, as history pages are (MESSAGE_JSON): the
 * contract's OfflineNotification (contract/jobs.ts).
 */
export async function freezePayloads(db: Queryable, deliveryIds: string[], limit: number): Promise<DeliveryAttempt[]> {
  const { rows } = await db.query<{ delivery_id: string; payload: string; attempts: number }>({
    name: 'notifications.freeze',
    text: `WITH targets AS (
       SELECT delivery_id, user_id FROM notification_deliveries WHERE delivery_id = ANY($1::uuid[])
     ), msgs AS (
       SELECT t.delivery_id, t.user_id, x.id, x.created_at, x.message
         FROM targets t CROSS JOIN LATERAL (
           SELECT m.id, m.created_at, ${MESSAGE_JSON} AS message
             FROM notification_delivery_messages dm
             JOIN messages m ON m.id = dm.message_id
             JOIN conversation_members cm ON cm.conversation_id = m.conversation_id AND cm.user_id = t.user_id
            WHERE dm.delivery_id = t.delivery_id AND m.seq > cm.last_read_seq AND m.deleted_at IS NULL
            ORDER BY m.created_at, m.id LIMIT $2
         ) x
     ), bodies AS (
       SELECT delivery_id,
              json_build_object('type', 'message.offline', 'deliveryId', delivery_id::text, 'userId', user_id::text,
                'message', json_agg(message ORDER BY created_at DESC, id DESC) -> 0,
                'messages', json_agg(message ORDER BY created_at, id))::text AS payload
         FROM msgs GROUP BY delivery_id, user_id
     )
     UPDATE notification_deliveries d SET payload = coalesce(d.payload, b.payload), attempts = d.attempts + 1
       FROM targets t LEFT JOIN bodies b USING (delivery_id)
      WHERE d.delivery_id = t.delivery_id AND (d.payload IS NOT NULL OR b.payload IS NOT NULL)
     RETURNING d.delivery_id::text, d.payload, d.attempts`,
    values: [deliveryIds, limit],
  });
  return rows.map(attemptOf);
}

/** Retries: counts the attempts and returns the bodies the first attempts fixed; gone deliveries are not returned. */
export async function startRetries(db: Queryable, deliveryIds: string[]): Promise<DeliveryAttempt[]> {
  const { rows } = await db.query<{ delivery_id: string; payload: string; attempts: number }>({
    name: 'notifications.startRetries',
    text: `UPDATE notification_deliveries SET attempts = attempts + 1
            WHERE delivery_id = ANY($1::uuid[]) AND payload IS NOT NULL
           RETURNING delivery_id::text, payload, attempts`,
    values: [deliveryIds],
  });
  return rows.map(attemptOf);
}

/** Notes each failed attempt's reason (pairs by position). */
export async function recordFailures(db: Queryable, deliveryIds: string[], errors: string[]): Promise<void> {
  await db.query({
    name: 'notifications.recordFailures',
    text: `UPDATE notification_deliveries d SET last_error = f.error
             FROM unnest($1::uuid[], $2::text[]) AS f (delivery_id, error) WHERE d.delivery_id = f.delivery_id`,
    values: [deliveryIds, errors],
  });
}

/** Done: delivered, or nothing left to deliver. */
export async function finishDeliveries(db: Queryable, deliveryIds: string[]): Promise<void> {
  await db.query({
    name: 'notifications.finish',
    text: 'DELETE FROM notification_deliveries WHERE delivery_id = ANY($1::uuid[])',
    values: [deliveryIds],
  });
}

/** Moves the deliveries to the dead letters with their last errors (pairs by position), in one statement. */
export async function deadLetter(db: Queryable, deliveryIds: string[], errors: string[]): Promise<void> {
  await db.query({
    name: 'notifications.deadLetter',
    text: `WITH gone AS (DELETE FROM notification_deliveries WHERE delivery_id = ANY($1::uuid[])
                         RETURNING delivery_id, user_id, payload, attempts, created_at)
           INSERT INTO notification_dead_letters (delivery_id, user_id, payload, attempts, last_error, created_at)
           SELECT g.delivery_id, g.user_id, g.payload, g.attempts, f.error, g.created_at
             FROM gone g JOIN unnest($1::uuid[], $2::text[]) AS f (delivery_id, error) USING (delivery_id)
           ON CONFLICT (delivery_id) DO NOTHING`,
    values: [deliveryIds, errors],
  });
}

export interface OutboxFigures {
  outbox: number;
  deliveries: number;
  deadLetters: number;
}

export async function outboxFigures(db: Queryable): Promise<OutboxFigures> {
  const { rows } = await db.query<{ outbox: string; deliveries: string; dead: string }>({
    name: 'notifications.figures',
    text: `SELECT (SELECT count(*) FROM notification_outbox) AS outbox,
                  (SELECT count(*) FROM notification_deliveries) AS deliveries,
                  (SELECT count(*) FROM notification_dead_letters) AS dead`,
  });
  return {
    outbox: Number(rows[0]!.outbox),
    deliveries: Number(rows[0]!.deliveries),
    deadLetters: Number(rows[0]!.dead),
  };
}
