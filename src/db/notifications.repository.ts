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
       INSERT INTO notification_deliveries (user_id, due_at)
       SELECT user_id, min(created_at) + $2 * interval '1 millisecond' FROM recipients GROUP BY user_id
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

export interface DeliveryToQueue {
  deliveryId: string;
  dueAt: Date;
  /** Queued before: the queue is asked whether it still has the job (Redis may have lost it). */
  requeue: boolean;
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
  const { rows } = await db.query<{ delivery_id: string; due_at: Date; requeue: boolean }>({
    name: 'notifications.claimToQueue',
    text: `WITH picked AS (
       SELECT delivery_id, relayed_at IS NOT NULL AS requeue FROM notification_deliveries
        WHERE relayed_at IS NULL OR relayed_at < now() - $2 * interval '1 millisecond'
        ORDER BY relayed_at NULLS FIRST LIMIT $1 FOR UPDATE SKIP LOCKED
     )
     UPDATE notification_deliveries d SET relayed_at = now() FROM picked p WHERE d.delivery_id = p.delivery_id
     RETURNING d.delivery_id, d.due_at, p.requeue`,
    values: [limit, recheckMs],
  });
  return rows.map((row) => ({ deliveryId: row.delivery_id, dueAt: row.due_at, requeue: row.requeue }));
}

/**
 * Seals the delivery (no more messages join it) and says whose it is and whether its payload is fixed already;
 * undefined when it is gone (delivered or dead-lettered meanwhile). A separate statement from reading the
 * messages: a fan-out adding to this delivery holds its row, and the read after this sees what that committed.
 */
export async function sealDelivery(
  db: Queryable,
  deliveryId: string,
): Promise<{ userId: string; frozen: boolean } | undefined> {
  const { rows } = await db.query<{ user_id: string; frozen: boolean }>({
    name: 'notifications.seal',
    text: `UPDATE notification_deliveries SET sealed_at = coalesce(sealed_at, now()) WHERE delivery_id = $1
           RETURNING user_id::text, payload IS NOT NULL AS frozen`,
    values: [deliveryId],
  });
  return rows[0] && { userId: rows[0].user_id, frozen: rows[0].frozen };
}

/**
 * The first attempt: builds the body from the delivery's messages its user still has to hear about (not deleted,
 * after their read cursor, in a conversation they are still a member of; oldest first, at most `limit`), fixes it on
 * the row and counts the attempt, in one statement. `message` is the latest of them. Undefined when there is nothing
 * left to send (all read) or the delivery is gone. Built by PostgreSQL, as history pages are (MESSAGE_JSON): the
 * contract's OfflineNotification (contract/jobs.ts).
 */
export async function freezePayload(
  db: Queryable,
  deliveryId: string,
  userId: string,
  limit: number,
): Promise<{ payload: string; attempts: number } | undefined> {
  const { rows } = await db.query<{ payload: string; attempts: number }>({
    name: 'notifications.freeze',
    text: `WITH msgs AS (
       SELECT m.id, m.created_at, ${MESSAGE_JSON} AS message
         FROM notification_delivery_messages dm
         JOIN messages m ON m.id = dm.message_id
         JOIN conversation_members cm ON cm.conversation_id = m.conversation_id AND cm.user_id = $2
        WHERE dm.delivery_id = $1 AND m.seq > cm.last_read_seq AND m.deleted_at IS NULL
        ORDER BY m.created_at, m.id LIMIT $3
     ), body AS (
       SELECT json_build_object('type', 'message.offline', 'deliveryId', $1::text, 'userId', $2::text,
                'message', (SELECT message FROM msgs ORDER BY created_at DESC, id DESC LIMIT 1),
                'messages', (SELECT json_agg(message ORDER BY created_at, id) FROM msgs))::text AS payload
        WHERE EXISTS (SELECT 1 FROM msgs)
     )
     UPDATE notification_deliveries d SET payload = coalesce(d.payload, (SELECT payload FROM body)), attempts = d.attempts + 1
      WHERE d.delivery_id = $1 AND (d.payload IS NOT NULL OR EXISTS (SELECT 1 FROM body))
     RETURNING d.payload, d.attempts`,
    values: [deliveryId, userId, limit],
  });
  return rows[0];
}

/** A retry: counts the attempt and returns the body the first attempt fixed; undefined when the delivery is gone. */
export async function startRetry(
  db: Queryable,
  deliveryId: string,
): Promise<{ payload: string; attempts: number } | undefined> {
  const { rows } = await db.query<{ payload: string; attempts: number }>({
    name: 'notifications.startRetry',
    text: `UPDATE notification_deliveries SET attempts = attempts + 1 WHERE delivery_id = $1 AND payload IS NOT NULL
           RETURNING payload, attempts`,
    values: [deliveryId],
  });
  return rows[0];
}

export async function recordFailure(db: Queryable, deliveryId: string, error: string): Promise<void> {
  await db.query({
    name: 'notifications.recordFailure',
    text: 'UPDATE notification_deliveries SET last_error = $2 WHERE delivery_id = $1',
    values: [deliveryId, error],
  });
}

/** Done: delivered, or nothing left to deliver. */
export async function finishDelivery(db: Queryable, deliveryId: string): Promise<void> {
  await db.query({
    name: 'notifications.finish',
    text: 'DELETE FROM notification_deliveries WHERE delivery_id = $1',
    values: [deliveryId],
  });
}

/** Moves the delivery to the dead letters, in one statement. */
export async function deadLetter(db: Queryable, deliveryId: string, error: string): Promise<void> {
  await db.query({
    name: 'notifications.deadLetter',
    text: `WITH gone AS (DELETE FROM notification_deliveries WHERE delivery_id = $1
                         RETURNING delivery_id, user_id, payload, attempts, created_at)
           INSERT INTO notification_dead_letters (delivery_id, user_id, payload, attempts, last_error, created_at)
           SELECT delivery_id, user_id, payload, attempts, $2, created_at FROM gone
           ON CONFLICT (delivery_id) DO NOTHING`,
    values: [deliveryId, error],
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
