// SQL for conversations and membership.
import type { MessageAttachment } from '../contract/attachments.js';
import type {
  Conversation,
  ConversationKind,
  ConversationSummary,
  Member,
  MemberRole,
} from '../contract/conversations.js';
import type { Queryable } from './database.js';
import { USER_COLUMNS, toUser } from './users.repository.js';
import { toMessage } from './messages.repository.js';

interface ConversationRow {
  id: string;
  kind: ConversationKind;
  title: string | null;
  created_at: Date;
  last_seq: string;
}

const CONVERSATION_COLUMNS = 'c.id, c.kind, c.title, c.created_at, c.last_seq';

export const directKey = (a: string, b: string): string => (BigInt(a) < BigInt(b) ? `${a}:${b}` : `${b}:${a}`);

export async function insertConversation(
  db: Queryable,
  input: { kind: ConversationKind; title: string | null; directKey: string | null; createdBy: string },
): Promise<string | undefined> {
  // ON CONFLICT on direct_key: a concurrent creator of the same direct conversation wins, we return nothing.
  const { rows } = await db.query<{ id: string }>(
    `INSERT INTO conversations (kind, title, direct_key, created_by) VALUES ($1, $2, $3, $4)
     ON CONFLICT (direct_key) DO NOTHING RETURNING id`,
    [input.kind, input.title, input.directKey, input.createdBy],
  );
  return rows[0]?.id;
}

export async function findDirectConversationId(db: Queryable, key: string): Promise<string | undefined> {
  const { rows } = await db.query<{ id: string }>('SELECT id FROM conversations WHERE direct_key = $1', [key]);
  return rows[0]?.id;
}

/** Adds members; returns the ids that were not members before. */
export async function addMembers(db: Queryable, conversationId: string, userIds: string[]): Promise<string[]> {
  const { rows } = await db.query<{ user_id: string }>(
    `INSERT INTO conversation_members (conversation_id, user_id, last_read_seq)
     SELECT $1, unnest($2::bigint[]), (SELECT last_seq FROM conversations WHERE id = $1)
     ON CONFLICT DO NOTHING RETURNING user_id`,
    [conversationId, userIds],
  );
  return rows.map((row) => row.user_id);
}

export async function removeMember(db: Queryable, conversationId: string, userId: string): Promise<boolean> {
  const { rowCount } = await db.query('DELETE FROM conversation_members WHERE conversation_id = $1 AND user_id = $2', [
    conversationId,
    userId,
  ]);
  return (rowCount ?? 0) > 0;
}

/**
 * The actor's role and the conversation's kind, locking the conversation row until the transaction ends: every
 * membership change in a conversation is serialised behind it, so two admins cannot, say, both remove the last
 * owner-in-waiting. Undefined when the actor is not a member.
 */
export async function lockMembership(
  tx: Queryable,
  conversationId: string,
  actorId: string,
): Promise<{ kind: ConversationKind; role: MemberRole } | undefined> {
  const { rows } = await tx.query<{ kind: ConversationKind; role: MemberRole }>(
    `SELECT c.kind, cm.role FROM conversations c
       JOIN conversation_members cm ON cm.conversation_id = c.id AND cm.user_id = $2
      WHERE c.id = $1
        FOR UPDATE OF c`,
    [conversationId, actorId],
  );
  return rows[0];
}

export async function findRole(db: Queryable, conversationId: string, userId: string): Promise<MemberRole | undefined> {
  const { rows } = await db.query<{ role: MemberRole }>(
    'SELECT role FROM conversation_members WHERE conversation_id = $1 AND user_id = $2',
    [conversationId, userId],
  );
  return rows[0]?.role;
}

export async function setRole(db: Queryable, conversationId: string, userId: string, role: MemberRole): Promise<void> {
  await db.query('UPDATE conversation_members SET role = $3 WHERE conversation_id = $1 AND user_id = $2', [
    conversationId,
    userId,
    role,
  ]);
}

/** Makes the longest-standing admin, else the longest-standing member, the owner; returns who, if anyone is left. */
export async function promoteHeir(tx: Queryable, conversationId: string): Promise<string | undefined> {
  const { rows } = await tx.query<{ user_id: string }>(
    `UPDATE conversation_members SET role = 'owner'
      WHERE conversation_id = $1
        AND user_id = (SELECT user_id FROM conversation_members WHERE conversation_id = $1
                        ORDER BY role = 'admin' DESC, joined_at, user_id LIMIT 1)
      RETURNING user_id`,
    [conversationId],
  );
  return rows[0]?.user_id;
}

export async function isMember(db: Queryable, conversationId: string, userId: string): Promise<boolean> {
  const { rows } = await db.query('SELECT 1 FROM conversation_members WHERE conversation_id = $1 AND user_id = $2', [
    conversationId,
    userId,
  ]);
  return rows.length > 0;
}

export async function findKind(db: Queryable, conversationId: string): Promise<ConversationKind | undefined> {
  const { rows } = await db.query<{ kind: ConversationKind }>('SELECT kind FROM conversations WHERE id = $1', [
    conversationId,
  ]);
  return rows[0]?.kind;
}

/** Which of `userIds` share at least one conversation with `userId`. */
export async function usersSharingAConversation(db: Queryable, userId: string, userIds: string[]): Promise<string[]> {
  const { rows } = await db.query<{ user_id: string }>(
    `SELECT DISTINCT other.user_id
       FROM conversation_members mine
       JOIN conversation_members other ON other.conversation_id = mine.conversation_id
      WHERE mine.user_id = $1 AND other.user_id = ANY($2::bigint[])`,
    [userId, userIds],
  );
  return rows.map((row) => row.user_id);
}

export async function listConversationIdsOf(db: Queryable, userId: string): Promise<string[]> {
  const { rows } = await db.query<{ conversation_id: string }>(
    'SELECT conversation_id FROM conversation_members WHERE user_id = $1',
    [userId],
  );
  return rows.map((row) => row.conversation_id);
}

async function membersByConversation(db: Queryable, conversationIds: string[]): Promise<Map<string, Member[]>> {
  const { rows } = await db.query<
    Parameters<typeof toUser>[0] & { conversation_id: string; role: MemberRole; last_read_seq: string }
  >(
    `SELECT cm.conversation_id, cm.role, cm.last_read_seq, ${USER_COLUMNS}
       FROM conversation_members cm JOIN users u ON u.id = cm.user_id
      WHERE cm.conversation_id = ANY($1::bigint[])
      ORDER BY cm.conversation_id, cm.joined_at, u.id`,
    [conversationIds],
  );
  const members = new Map<string, Member[]>();
  for (const row of rows) {
    const list = members.get(row.conversation_id) ?? [];
    list.push({ ...toUser(row), role: row.role, lastReadSeq: Number(row.last_read_seq) });
    members.set(row.conversation_id, list);
  }
  return members;
}

const toConversation = (row: ConversationRow, members: Member[]): Conversation => ({
  id: row.id,
  kind: row.kind,
  title: row.title,
  createdAt: row.created_at.toISOString(),
  lastSeq: Number(row.last_seq),
  members,
});

/** The conversation with its members, for announcing a change to them; not for answering a user (no member check). */
export async function findConversationById(db: Queryable, conversationId: string): Promise<Conversation | undefined> {
  const { rows } = await db.query<ConversationRow>(
    `SELECT ${CONVERSATION_COLUMNS} FROM conversations c WHERE c.id = $1`,
    [conversationId],
  );
  const row = rows[0];
  if (!row) return undefined;
  const members = await membersByConversation(db, [row.id]);
  return toConversation(row, members.get(row.id) ?? []);
}

/** The conversation if `userId` is a member; undefined otherwise (non-members learn nothing). */
export async function findConversationForMember(
  db: Queryable,
  conversationId: string,
  userId: string,
): Promise<Conversation | undefined> {
  const { rows } = await db.query<ConversationRow>(
    `SELECT ${CONVERSATION_COLUMNS} FROM conversations c
       JOIN conversation_members cm ON cm.conversation_id = c.id AND cm.user_id = $2
      WHERE c.id = $1`,
    [conversationId, userId],
  );
  const row = rows[0];
  if (!row) return undefined;
  const members = await membersByConversation(db, [row.id]);
  return toConversation(row, members.get(row.id) ?? []);
}

interface SummaryRow extends ConversationRow {
  last_read_seq: string;
  activity_seq: string;
  m_id: string | null;
  m_sender_id: string;
  m_body: string;
  m_client_msg_id: string;
  m_created_at: Date;
  m_edited_at: Date | null;
  m_deleted_at: Date | null;
  m_attachments: MessageAttachment[];
}

export interface ConversationPage {
  conversations: ConversationSummary[];
  /** The activity position to continue below; absent on the last page. */
  nextBefore?: string;
}

/**
 * One page of the user's conversations, most recent activity first, keyset on the unique activity_seq every send
 * moves forward: a conversation that becomes active while a client pages moves above its cursor, so no page
 * repeats it and none skips another.
 */
export async function listConversationsOf(
  db: Queryable,
  userId: string,
  page: { limit: number; before?: string },
): Promise<ConversationPage> {
  const { rows } = await db.query<SummaryRow>(
    `SELECT ${CONVERSATION_COLUMNS}, c.activity_seq, cm.last_read_seq, m.id AS m_id, m.sender_id AS m_sender_id,
            m.body AS m_body, m.client_msg_id AS m_client_msg_id, m.created_at AS m_created_at,
            m.edited_at AS m_edited_at, m.deleted_at AS m_deleted_at, m.attachments AS m_attachments
       FROM conversation_members cm
       JOIN conversations c ON c.id = cm.conversation_id
       LEFT JOIN messages m ON m.conversation_id = c.id AND m.seq = c.last_seq
      WHERE cm.user_id = $1 AND ($2::bigint IS NULL OR c.activity_seq < $2)
      ORDER BY c.activity_seq DESC
      LIMIT $3`,
    [userId, page.before ?? null, page.limit + 1],
  );
  const shown = rows.slice(0, page.limit);
  const members = await membersByConversation(
    db,
    shown.map((row) => row.id),
  );
  const conversations = shown.map((row) => {
    const summary: ConversationSummary = {
      ...toConversation(row, members.get(row.id) ?? []),
      unread: Math.max(0, Number(row.last_seq) - Number(row.last_read_seq)),
    };
    if (row.m_id) {
      summary.lastMessage = toMessage({
        id: row.m_id,
        conversation_id: row.id,
        seq: row.last_seq,
        sender_id: row.m_sender_id,
        body: row.m_body,
        client_msg_id: row.m_client_msg_id,
        created_at: row.m_created_at,
        edited_at: row.m_edited_at,
        deleted_at: row.m_deleted_at,
        attachments: row.m_attachments,
      });
    }
    return summary;
  });
  return rows.length > page.limit
    ? { conversations, nextBefore: shown[shown.length - 1]!.activity_seq }
    : { conversations };
}

/** The user's `limit` most recently active conversations (what a socket joins at its handshake). */
export async function listRecentConversationIdsOf(db: Queryable, userId: string, limit: number): Promise<string[]> {
  const { rows } = await db.query<{ id: string }>(
    `SELECT c.id FROM conversation_members cm JOIN conversations c ON c.id = cm.conversation_id
      WHERE cm.user_id = $1 ORDER BY c.activity_seq DESC LIMIT $2`,
    [userId, limit],
  );
  return rows.map((row) => row.id);
}

/** Moves the read cursor forward only, never past the last message. Returns the cursor after the update. */
export async function advanceReadCursor(
  db: Queryable,
  conversationId: string,
  userId: string,
  seq: number,
): Promise<number | undefined> {
  const { rows } = await db.query<{ last_read_seq: string }>(
    `UPDATE conversation_members cm
        SET last_read_seq = GREATEST(cm.last_read_seq, LEAST($3::bigint, c.last_seq))
       FROM conversations c
      WHERE c.id = cm.conversation_id AND cm.conversation_id = $1 AND cm.user_id = $2
      RETURNING cm.last_read_seq`,
    [conversationId, userId, seq],
  );
  return rows[0] ? Number(rows[0].last_read_seq) : undefined;
}

/** Unread messages per conversation, for those of `conversationIds` the user is a member of (others absent). */
export async function unreadCountsOf(
  db: Queryable,
  userId: string,
  conversationIds: string[],
): Promise<Map<string, number>> {
  const { rows } = await db.query<{ id: string; unread: string }>(
    `SELECT c.id, greatest(c.last_seq - cm.last_read_seq, 0) AS unread
       FROM conversation_members cm JOIN conversations c ON c.id = cm.conversation_id
      WHERE cm.user_id = $1 AND cm.conversation_id = ANY($2::bigint[])`,
    [userId, conversationIds],
  );
  return new Map(rows.map((row) => [row.id, Number(row.unread)]));
}
