// SQL for edits, deletions and the change feed. A change takes the conversation's row lock (lockForChange), then
// bumps the conversation's change counter and stamps the message with it in one statement (applyChange): change
// numbers per conversation are handed out under that lock and follow commit order, exactly like seq.
import type { ConversationKind, MemberRole } from '../contract/conversations.js';
import type { Message } from '../contract/messages.js';
import type { Queryable } from './database.js';
import { MESSAGE_COLUMNS, toMessage, type MessageRow } from './messages.repository.js';

export interface ChangeTarget {
  kind: ConversationKind;
  role: MemberRole;
  /** Undefined when the conversation has no message with that seq. */
  message?: Message;
  /** Seconds since the message was stored, by the database's clock. */
  ageSec: number;
}

/**
 * Locks the conversation row until the transaction ends (every change and every send of the conversation queue
 * behind it), then reads the actor's role and the message. Two statements on purpose: the second takes a fresh
 * snapshot after the lock is granted, so it sees any change committed by the lock's previous holder. Undefined
 * when the actor is not a member.
 */
export async function lockForChange(
  tx: Queryable,
  conversationId: string,
  seq: number,
  actorId: string,
): Promise<ChangeTarget | undefined> {
  await tx.query('SELECT 1 FROM conversations WHERE id = $1 FOR UPDATE', [conversationId]);
  const { rows } = await tx.query<
    { kind: ConversationKind; role: MemberRole; age_sec: number | null } & Partial<MessageRow>
  >(
    `SELECT c.kind, cm.role, extract(epoch FROM now() - m.created_at)::float8 AS age_sec, ${MESSAGE_COLUMNS}
       FROM conversations c
       JOIN conversation_members cm ON cm.conversation_id = c.id AND cm.user_id = $3
       LEFT JOIN messages m ON m.conversation_id = c.id AND m.seq = $2
      WHERE c.id = $1`,
    [conversationId, seq, actorId],
  );
  const row = rows[0];
  if (!row) return undefined;
  return {
    kind: row.kind,
    role: row.role,
    message: row.id ? toMessage(row as MessageRow) : undefined,
    ageSec: row.age_sec ?? 0,
  };
}

export type Change = { kind: 'edit'; body: string } | { kind: 'delete' };

/**
 * Bumps the change counter and rewrites the message in one statement; the caller holds lockForChange's lock. A
 * deletion also detaches the message's attachments: they stop being served at once and the sweep removes their
 * objects after ATTACHMENT_DELETE_GRACE (attachments.repository.ts).
 */
export async function applyChange(
  tx: Queryable,
  conversationId: string,
  seq: number,
  change: Change,
): Promise<Message> {
  const set =
    change.kind === 'edit'
      ? `body = $3, edited_at = now(), search_vector = to_tsvector((SELECT language FROM search_settings), $3)`
      : `body = '', deleted_at = now(), search_vector = NULL, attachments = '[]'`;
  const detach =
    change.kind === 'delete'
      ? `, detached AS (UPDATE attachments SET deleted_at = now() WHERE message_id IN (SELECT id FROM m) AND deleted_at IS NULL)`
      : '';
  const { rows } = await tx.query<MessageRow>(
    `WITH bump AS (
       UPDATE conversations SET last_change_seq = last_change_seq + 1 WHERE id = $1 RETURNING last_change_seq
     ), m AS (
       UPDATE messages m SET ${set}, change_seq = bump.last_change_seq
         FROM bump
        WHERE m.conversation_id = $1 AND m.seq = $2
        RETURNING ${MESSAGE_COLUMNS}
     )${detach}
     SELECT * FROM m`,
    change.kind === 'edit' ? [conversationId, seq, change.body] : [conversationId, seq],
  );
  return toMessage(rows[0]!);
}

/** How far the change feed of each of the user's conversations has gone (conversations without changes omitted). */
export async function changeCountersOf(db: Queryable, userId: string): Promise<Map<string, number>> {
  const { rows } = await db.query<{ id: string; last_change_seq: string }>(
    `SELECT c.id, c.last_change_seq FROM conversation_members cm JOIN conversations c ON c.id = cm.conversation_id
      WHERE cm.user_id = $1 AND c.last_change_seq > 0`,
    [userId],
  );
  return new Map(rows.map((row) => [row.id, Number(row.last_change_seq)]));
}

export interface ChangedMessage {
  message: Message;
  changeSeq: number;
}

/**
 * The messages of the user's conversations changed after `since` (per conversation; absent means 0), ordered by
 * conversation then change number, at most `limit`. Only conversations whose counter moved are visited.
 */
export async function listChangesSince(
  db: Queryable,
  userId: string,
  since: ReadonlyMap<string, number>,
  limit: number,
): Promise<ChangedMessage[]> {
  const { rows } = await db.query<MessageRow & { change_seq: string }>(
    `SELECT ${MESSAGE_COLUMNS}, m.change_seq
       FROM conversation_members cm
       JOIN conversations c ON c.id = cm.conversation_id
       LEFT JOIN unnest($2::bigint[], $3::bigint[]) AS t(conversation_id, since) ON t.conversation_id = c.id
       JOIN messages m ON m.conversation_id = c.id AND m.change_seq > coalesce(t.since, 0)
      WHERE cm.user_id = $1 AND c.last_change_seq > coalesce(t.since, 0)
      ORDER BY m.conversation_id, m.change_seq
      LIMIT $4`,
    [userId, [...since.keys()], [...since.values()], limit],
  );
  return rows.map((row) => ({ message: toMessage(row), changeSeq: Number(row.change_seq) }));
}
