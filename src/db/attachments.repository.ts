// SQL for attachments. Sends claim uploads in messages.repository.ts (insertBatch); deleting a message detaches
// them in message-changes.repository.ts (applyChange). Everything else about their rows is here.
import type { Attachment } from '../contract/attachments.js';
import type { Queryable } from './database.js';

/** The row behind an attachment: the contract's fields, plus who uploaded it and where its bytes are. */
export interface StoredAttachment extends Attachment {
  uploaderId: string;
  store: string;
  storageKey: string;
  thumbnailKey: string | null;
  messageId: string | null;
}

interface AttachmentRow {
  id: string;
  uploader_id: string;
  name: string;
  size: string;
  content_type: string;
  sha256: string;
  store: string;
  storage_key: string;
  thumbnail_key: string | null;
  message_id: string | null;
  created_at: Date;
}

const COLUMNS =
  'a.id, a.uploader_id, a.name, a.size, a.content_type, a.sha256, a.store, a.storage_key, a.thumbnail_key, a.message_id, a.created_at';

const toAttachment = (row: AttachmentRow): StoredAttachment => ({
  id: row.id,
  uploaderId: row.uploader_id,
  name: row.name,
  size: Number(row.size),
  contentType: row.content_type,
  sha256: row.sha256,
  store: row.store,
  storageKey: row.storage_key,
  thumbnailKey: row.thumbnail_key,
  messageId: row.message_id,
  createdAt: row.created_at.toISOString(),
});

/** Advisory-lock namespace for "a user's upload quota": concurrent uploads of one user are counted one by one. */
const QUOTA_LOCK = 7302;

export type NewAttachment = Pick<
  StoredAttachment,
  'uploaderId' | 'name' | 'size' | 'contentType' | 'sha256' | 'store' | 'storageKey'
>;

/**
 * Inserts the row when the uploader's stored bytes plus this upload stay within `quotaBytes`; undefined when they
 * would not. Runs in the caller's transaction, which holds the uploader's quota lock until it ends.
 */
export async function insertWithinQuota(
  tx: Queryable,
  input: NewAttachment,
  quotaBytes: number,
): Promise<StoredAttachment | undefined> {
  await tx.query('SELECT pg_advisory_xact_lock($1, ($2::bigint % 2147483647)::int)', [QUOTA_LOCK, input.uploaderId]);
  const { rows } = await tx.query<AttachmentRow>(
    `INSERT INTO attachments AS a (uploader_id, name, size, content_type, sha256, store, storage_key)
     SELECT $1::bigint, $2, $3::bigint, $4, $5, $6, $7
      WHERE (SELECT coalesce(sum(size), 0) FROM attachments WHERE uploader_id = $1::bigint AND deleted_at IS NULL) + $3::bigint <= $8::bigint
     RETURNING ${COLUMNS}`,
    [
      input.uploaderId,
      input.name,
      input.size,
      input.contentType,
      input.sha256,
      input.store,
      input.storageKey,
      quotaBytes,
    ],
  );
  return rows[0] ? toAttachment(rows[0]) : undefined;
}

/** Bytes the user's live (not deleted) uploads take. */
export async function usedBytes(db: Queryable, userId: string): Promise<number> {
  const { rows } = await db.query<{ used: string }>(
    'SELECT coalesce(sum(size), 0) AS used FROM attachments WHERE uploader_id = $1 AND deleted_at IS NULL',
    [userId],
  );
  return Number(rows[0]!.used);
}

/** The ids, of those given, that are not the sender's own live uploads still free to attach, in the given order. */
export async function unclaimableAttachments(
  db: Queryable,
  senderId: string,
  ids: readonly string[],
): Promise<string[]> {
  if (ids.length === 0) return [];
  const { rows } = await db.query<{ id: string }>(
    `SELECT id::text FROM attachments
      WHERE id = ANY($1::bigint[]) AND uploader_id = $2 AND message_id IS NULL AND deleted_at IS NULL`,
    [ids, senderId],
  );
  const free = new Set(rows.map((row) => row.id));
  return ids.filter((id) => !free.has(id));
}

/**
 * The attachment when the user may read it: its uploader, or a member of the conversation of the message that
 * holds it. Deleted and orphan-swept attachments are nobody's. Undefined otherwise (the route answers 404).
 */
export async function findReadable(
  db: Queryable,
  attachmentId: string,
  userId: string,
): Promise<StoredAttachment | undefined> {
  const { rows } = await db.query<AttachmentRow>({
    name: 'attachments.findReadable',
    text: `SELECT ${COLUMNS} FROM attachments a
            WHERE a.id = $1 AND a.deleted_at IS NULL
              AND (a.uploader_id = $2 OR EXISTS (
                    SELECT 1 FROM messages m JOIN conversation_members cm ON cm.conversation_id = m.conversation_id
                     WHERE m.id = a.message_id AND cm.user_id = $2))`,
    values: [attachmentId, userId],
  });
  return rows[0] ? toAttachment(rows[0]) : undefined;
}

export async function setThumbnailKey(db: Queryable, attachmentId: string, key: string): Promise<void> {
  await db.query('UPDATE attachments SET thumbnail_key = $2 WHERE id = $1', [attachmentId, key]);
}

/**
 * Marks uploads never attached within `ttlSec` as deleted (they stop being served and become unclaimable at once;
 * a send claiming one at the same moment holds its row lock, so exactly one of the two wins). Returns how many.
 */
export async function markOrphansDeleted(db: Queryable, ttlSec: number): Promise<number> {
  const { rowCount } = await db.query(
    `UPDATE attachments SET deleted_at = now()
      WHERE message_id IS NULL AND deleted_at IS NULL AND created_at < now() - make_interval(secs => $1)`,
    [ttlSec],
  );
  return rowCount ?? 0;
}

export interface PurgeTarget {
  id: string;
  store: string;
  keys: string[];
}

/**
 * Up to `limit` rows of the store deleted more than `graceSec` ago, locked for the caller's transaction; rows another
 * process is purging right now are skipped, not waited for.
 */
export async function lockPurgeBatch(
  tx: Queryable,
  store: string,
  graceSec: number,
  limit: number,
): Promise<PurgeTarget[]> {
  const { rows } = await tx.query<{ id: string; store: string; storage_key: string; thumbnail_key: string | null }>(
    `SELECT id, store, storage_key, thumbnail_key FROM attachments
      WHERE store = $1 AND deleted_at IS NOT NULL AND deleted_at <= now() - make_interval(secs => $2)
      ORDER BY deleted_at LIMIT $3 FOR UPDATE SKIP LOCKED`,
    [store, graceSec, limit],
  );
  return rows.map((row) => ({
    id: row.id,
    store: row.store,
    keys: [row.storage_key, ...(row.thumbnail_key ? [row.thumbnail_key] : [])],
  }));
}

export async function deleteRows(tx: Queryable, ids: readonly string[]): Promise<void> {
  if (ids.length > 0) await tx.query('DELETE FROM attachments WHERE id = ANY($1::bigint[])', [ids]);
}

/** Bytes of every live attachment, per store (the bytes-stored gauge). */
export async function bytesStoredByStore(db: Queryable): Promise<Array<{ store: string; bytes: number }>> {
  const { rows } = await db.query<{ store: string; bytes: string }>(
    'SELECT store, coalesce(sum(size), 0) AS bytes FROM attachments WHERE deleted_at IS NULL GROUP BY store',
  );
  return rows.map((row) => ({ store: row.store, bytes: Number(row.bytes) }));
}
