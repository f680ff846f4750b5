// SQL for messages. `seq` comes from the conversation row's counter, bumped under its row lock in the same
// transaction as the insert: no gaps, and commit order equals seq order.
import type { MessageAttachment } from '../contract/attachments.js';
import type { Message } from '../contract/messages.js';
import type { Queryable } from './database.js';

export interface MessageRow {
  id: string;
  conversation_id: string;
  seq: string;
  sender_id: string;
  body: string;
  client_msg_id: string;
  created_at: Date;
  edited_at: Date | null;
  deleted_at: Date | null;
  attachments: MessageAttachment[];
}

export const MESSAGE_COLUMNS =
  'm.id, m.conversation_id, m.seq, m.sender_id, m.body, m.client_msg_id, m.created_at, m.edited_at, m.deleted_at, m.attachments';

export const toMessage = (row: MessageRow): Message => ({
  id: row.id,
  conversationId: row.conversation_id,
  seq: Number(row.seq),
  senderId: row.sender_id,
  body: row.body,
  clientMsgId: row.client_msg_id,
  createdAt: row.created_at.toISOString(),
  editedAt: row.edited_at?.toISOString() ?? null,
  deletedAt: row.deleted_at?.toISOString() ?? null,
  attachments: row.attachments ?? [],
});

export async function findByClientMsgId(
  db: Queryable,
  senderId: string,
  clientMsgId: string,
): Promise<Message | undefined> {
  const { rows } = await db.query<MessageRow>(
    `SELECT ${MESSAGE_COLUMNS} FROM messages m WHERE m.sender_id = $1 AND m.client_msg_id = $2`,
    [senderId, clientMsgId],
  );
  return rows[0] ? toMessage(rows[0]) : undefined;
}

export interface NewMessage {
  conversationId: string;
  senderId: string;
  body: string;
  clientMsgId: string;
  /** Uploads of the sender not attached to any message yet, in the order the message shows them. */
  attachmentIds?: readonly string[];
}

/**
 * Stores messages in one statement (one round trip, one commit): each message whose sender is a member, whose
 * (sender, clientMsgId) is unused and whose attachmentIds all name the sender's own unattached, undeleted uploads
 * gets the next seq of its conversation (under the conversation's row lock), in input order, claims those uploads
 * and moves its sender's read cursor. Returns what was stored, in seq order per conversation; the others (not a
 * member, clientMsgId used, attachments not claimable) are simply absent. The caller holds the send locks of every
 * conversation named and passes no (sender, clientMsgId) and no attachment id twice. The uploads are locked
 * (FOR UPDATE re-reads a row a concurrent send just claimed), so one upload never ends up on two messages. A
 * clientMsgId committed meanwhile by a sender elsewhere fails the whole statement (unique violation) and nothing is
 * stored.
 */
export async function insertBatch(
  db: Queryable,
  inputs: readonly NewMessage[],
  options: { outbox?: boolean } = {},
): Promise<Message[]> {
  const { rows } = await db.query<MessageRow>({
    ...(options.outbox ? INSERT_BATCH_WITH_OUTBOX : INSERT_BATCH),
    values: [
      inputs.map((input) => input.conversationId),
      inputs.map((input) => input.senderId),
      inputs.map((input) => input.body),
      inputs.map((input) => input.clientMsgId),
      inputs.map((input) => (input.attachmentIds ?? []).join(',')),
    ],
  });
  return rows.map(toMessage);
}

/**
 * With `outbox`, the same statement also writes one notification_outbox row per stored message (offline
 * notifications, src/jobs/): the intent to notify commits exactly when the message does, for no extra round trip.
 */
const insertBatchStatement = (outbox: boolean) => ({
  name: outbox ? 'messages.insertBatch.outbox' : 'messages.insertBatch',
  text: `WITH input AS (
       SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::text[], $4::text[], $5::text[]) WITH ORDINALITY
         AS i(conversation_id, sender_id, body, client_msg_id, attachment_ids, n)
     ), wanted AS (
       SELECT i.n, i.sender_id, w.id, w.pos
         FROM input i, unnest(string_to_array(i.attachment_ids, ',')::bigint[]) WITH ORDINALITY AS w(id, pos)
     ), claimable AS (
       SELECT a.id, a.uploader_id FROM attachments a
        WHERE a.id IN (SELECT id FROM wanted) AND a.message_id IS NULL AND a.deleted_at IS NULL
          FOR UPDATE
     ), accepted AS (
       SELECT i.*, row_number() OVER (PARTITION BY i.conversation_id ORDER BY i.n) AS k
         FROM input i
        WHERE EXISTS (SELECT 1 FROM conversation_members cm WHERE cm.conversation_id = i.conversation_id AND cm.user_id = i.sender_id)
          AND NOT EXISTS (SELECT 1 FROM messages x WHERE x.sender_id = i.sender_id AND x.client_msg_id = i.client_msg_id)
          AND (SELECT count(*) FROM wanted w WHERE w.n = i.n)
            = (SELECT count(*) FROM wanted w JOIN claimable c ON c.id = w.id AND c.uploader_id = w.sender_id WHERE w.n = i.n)
     ), counts AS (
       SELECT conversation_id, count(*) AS added FROM accepted GROUP BY conversation_id
     ), bump AS (
       UPDATE conversations c SET last_seq = c.last_seq + counts.added, activity_seq = nextval('conversation_activity_seq')
         FROM counts WHERE c.id = counts.conversation_id
       RETURNING c.id, c.last_seq - counts.added AS base
     ), m AS (
       INSERT INTO messages (conversation_id, seq, sender_id, body, client_msg_id, search_vector, attachments)
       SELECT a.conversation_id, b.base + a.k, a.sender_id, a.body, a.client_msg_id, to_tsvector(s.language, a.body),
              (SELECT coalesce(jsonb_agg(jsonb_build_object('id', x.id::text, 'name', x.name, 'size', x.size,
                        'contentType', x.content_type, 'url', '/api/attachments/' || x.id::text) ORDER BY w.pos), '[]')
                 FROM wanted w JOIN attachments x ON x.id = w.id WHERE w.n = a.n)
         FROM accepted a JOIN bump b ON b.id = a.conversation_id CROSS JOIN search_settings s
        ORDER BY a.conversation_id, a.k
       RETURNING *
     ), claimed AS (
       UPDATE attachments x SET message_id = m.id
         FROM m JOIN accepted a ON a.sender_id = m.sender_id AND a.client_msg_id = m.client_msg_id
         JOIN wanted w ON w.n = a.n
        WHERE x.id = w.id
     ), read AS (
       UPDATE conversation_members cm SET last_read_seq = GREATEST(cm.last_read_seq, r.seq)
         FROM (SELECT conversation_id, sender_id, max(seq) AS seq FROM m GROUP BY conversation_id, sender_id) r
        WHERE cm.conversation_id = r.conversation_id AND cm.user_id = r.sender_id
     )${
       outbox
         ? `, outbox AS (
       INSERT INTO notification_outbox (message_id, conversation_id, sender_id) SELECT id, conversation_id, sender_id FROM m
     )`
         : ''
     }
     SELECT ${MESSAGE_COLUMNS} FROM m ORDER BY m.conversation_id, m.seq`,
});
const INSERT_BATCH = insertBatchStatement(false);
const INSERT_BATCH_WITH_OUTBOX = insertBatchStatement(true);

/** A timestamptz as the ISO text Date#toISOString prints (null stays null). */
const isoTime = (column: string) => `to_char(${column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;

// The contract's message object built by PostgreSQL, so a history page travels as one JSON text: no rows to
// parse, no dates to convert, nothing to stringify on the event loop (the hottest read of a chat server).
// to_char truncates to milliseconds, as Date does in toMessage, so both paths print the same createdAt.
export const MESSAGE_JSON = `json_build_object('id', m.id::text, 'conversationId', m.conversation_id::text, 'seq', m.seq,
  'senderId', m.sender_id::text, 'body', m.body, 'clientMsgId', m.client_msg_id,
  'createdAt', ${isoTime('m.created_at')}, 'editedAt', ${isoTime('m.edited_at')}, 'deletedAt', ${isoTime('m.deleted_at')}, 'attachments', m.attachments)`;

const historyStatement = (direction: 'before' | 'after') => {
  const [cursor, order] =
    direction === 'after' ? ['m.seq > $3', 'ASC'] : ['($3::bigint IS NULL OR m.seq < $3)', 'DESC'];
  return {
    // Named: each connection parses and plans it once.
    name: `messages.history.${direction}`,
    text: `SELECT EXISTS (SELECT 1 FROM conversation_members WHERE conversation_id = $1 AND user_id = $2) AS member,
                  (SELECT coalesce(json_agg(page.message ORDER BY page.seq ${order}), '[]')::text
                     FROM (SELECT m.seq, ${MESSAGE_JSON} AS message FROM messages m
                            WHERE m.conversation_id = $1 AND ${cursor}
                            ORDER BY m.seq ${order} LIMIT $4) page) AS messages`,
  };
};
/** The history statements by direction (exported for the benchmark's same-SQL peer, test/bench/peers/). */
export const HISTORY = { before: historyStatement('before'), after: historyStatement('after') };

/**
 * One page of history as a JSON array of messages, in one round trip with the membership check: newest first
 * before a seq (or from the end), oldest first after one. Undefined when the user is not a member.
 */
export async function historyPageJson(
  db: Queryable,
  page: { conversationId: string; userId: string; before?: number; after?: number; limit: number },
): Promise<string | undefined> {
  const direction = page.after !== undefined ? 'after' : 'before';
  const cursor = page.after ?? page.before ?? null;
  const { rows } = await db.query<{ member: boolean; messages: string }>({
    ...HISTORY[direction],
    values: [page.conversationId, page.userId, cursor, page.limit],
  });
  return rows[0]!.member ? rows[0]!.messages : undefined;
}

/**
 * What the history cache holds for a conversation: its member ids, its seq counter and its latest `limit` messages
 * (oldest first), from one snapshot. Undefined when the conversation does not exist.
 */
export async function latestWindow(
  db: Queryable,
  conversationId: string,
  limit: number,
): Promise<{ memberIds: string[]; lastSeq: number; messages: Message[] } | undefined> {
  const { rows } = await db.query<{ last_seq: string; members: string[]; messages: Message[] }>({
    name: 'messages.latestWindow',
    text: `SELECT c.last_seq,
                  ARRAY(SELECT cm.user_id::text FROM conversation_members cm WHERE cm.conversation_id = c.id) AS members,
                  (SELECT coalesce(json_agg(page.message ORDER BY page.seq), '[]')
                     FROM (SELECT m.seq, ${MESSAGE_JSON} AS message FROM messages m
                            WHERE m.conversation_id = c.id ORDER BY m.seq DESC LIMIT $2) page) AS messages
             FROM conversations c WHERE c.id = $1`,
    values: [conversationId, limit],
  });
  const row = rows[0];
  return row && { memberIds: row.members, lastSeq: Number(row.last_seq), messages: row.messages };
}

/** The highest seq handed out in a conversation: an export stops there, so it is the conversation as of its start. */
export async function findLastSeq(db: Queryable, conversationId: string): Promise<number> {
  const { rows } = await db.query<{ last_seq: string }>('SELECT last_seq FROM conversations WHERE id = $1', [
    conversationId,
  ]);
  return rows[0] ? Number(rows[0].last_seq) : 0;
}

/** One page of an export, oldest first: keyset on (conversation_id, seq), so every page is an index range scan. */
export async function listExportPage(
  db: Queryable,
  conversationId: string,
  page: { afterSeq: number; upToSeq: number; limit: number },
): Promise<Message[]> {
  const { rows } = await db.query<MessageRow>(
    `SELECT ${MESSAGE_COLUMNS} FROM messages m
      WHERE m.conversation_id = $1 AND m.seq > $2 AND m.seq <= $3
      ORDER BY m.seq ASC LIMIT $4`,
    [conversationId, page.afterSeq, page.upToSeq, page.limit],
  );
  return rows.map(toMessage);
}

/**
 * Catch-up: the messages after each cursor in the given conversations the user is a member of, ordered by
 * conversation then seq, at most `limit` rows. Conversations the user does not belong to contribute nothing.
 */
export async function listAfterCursors(
  db: Queryable,
  userId: string,
  cursors: Array<{ conversationId: string; after: number }>,
  limit: number,
): Promise<Message[]> {
  const { rows } = await db.query<MessageRow>(
    `SELECT ${MESSAGE_COLUMNS}
       FROM unnest($2::bigint[], $3::bigint[]) AS c(conversation_id, after_seq)
       JOIN conversation_members cm ON cm.conversation_id = c.conversation_id AND cm.user_id = $1
       JOIN messages m ON m.conversation_id = c.conversation_id AND m.seq > c.after_seq
      ORDER BY m.conversation_id, m.seq
      LIMIT $4`,
    [userId, cursors.map((c) => c.conversationId), cursors.map((c) => c.after), limit],
  );
  return rows.map(toMessage);
}
