// SQL for message search: PostgreSQL full-text search over messages.search_vector (GIN, deleted messages
// excluded by the partial index's predicate), in the configuration search_settings names.
import type { Message } from '../contract/messages.js';
import type { Queryable } from './database.js';
import { MESSAGE_COLUMNS, toMessage, type MessageRow } from './messages.repository.js';

export interface SearchHit {
  message: Message;
  /** ts_rank_cd as PostgreSQL prints the real: it reads back as exactly the same value, for the keyset. */
  rank: string;
  /** The matching part of the body, HTML-escaped, matched words in <mark></mark>. */
  snippet: string;
}

export interface SearchQuery {
  userId: string;
  /** Free text: plainto_tsquery reads it as words only, so tsquery operators and punctuation are just text. */
  text: string;
  conversationId?: string;
  limit: number;
  /** The last hit of the previous page. */
  after?: { rank: string; id: string };
}

// The body is escaped before ts_headline adds its markers, so a snippet is safe to show as HTML.
const ESCAPED_BODY = `replace(replace(replace(replace(h.body, '&', '&amp;'), '<', '&lt;'), '>', '&gt;'), '"', '&quot;')`;
const HEADLINE_OPTIONS =
  'StartSel=<mark>, StopSel=</mark>, MaxWords=24, MinWords=8, ShortWord=2, MaxFragments=2, FragmentDelimiter=" … "';

/** The user's matching messages, best first (rank, then newest id), the snippet made for the page's rows only. */
export async function searchMessages(db: Queryable, query: SearchQuery): Promise<SearchHit[]> {
  const { rows } = await db.query<MessageRow & { rank: string; snippet: string }>({
    name: 'search.messages',
    text: `WITH q AS (SELECT s.language, plainto_tsquery(s.language, $2) AS query FROM search_settings s),
     h AS (
       SELECT ${MESSAGE_COLUMNS}, ts_rank_cd(m.search_vector, q.query) AS rank
         FROM q, conversation_members cm
         JOIN messages m ON m.conversation_id = cm.conversation_id
        WHERE cm.user_id = $1 AND ($3::bigint IS NULL OR cm.conversation_id = $3)
          AND m.deleted_at IS NULL AND m.search_vector @@ q.query
          AND ($4::real IS NULL OR (ts_rank_cd(m.search_vector, q.query), m.id) < ($4::real, $5::bigint))
        ORDER BY rank DESC, m.id DESC
        LIMIT $6
     )
     SELECT ${MESSAGE_COLUMNS.replaceAll('m.', 'h.')}, h.rank::text AS rank, ts_headline(q.language, ${ESCAPED_BODY}, q.query, '${HEADLINE_OPTIONS}') AS snippet
       FROM h, q
      ORDER BY h.rank DESC, h.id DESC`,
    values: [
      query.userId,
      query.text,
      query.conversationId ?? null,
      query.after?.rank ?? null,
      query.after?.id ?? null,
      query.limit,
    ],
  });
  return rows.map((row) => ({ message: toMessage(row), rank: row.rank, snippet: row.snippet }));
}

/**
 * Makes `language` the configuration of search; true when it changed (the stored messages then need
 * reindexBatch). An unknown configuration fails here, at start.
 */
export async function setSearchLanguage(db: Queryable, language: string): Promise<boolean> {
  const { rowCount } = await db.query(
    'UPDATE search_settings SET language = $1::regconfig WHERE language <> $1::regconfig',
    [language],
  );
  return (rowCount ?? 0) > 0;
}

/** Re-indexes up to `limit` messages with ids above `afterId` in the current language; returns the last id done. */
export async function reindexBatch(db: Queryable, afterId: string, limit: number): Promise<string | undefined> {
  const { rows } = await db.query<{ id: string }>(
    `WITH batch AS (SELECT id FROM messages WHERE id > $1 AND deleted_at IS NULL ORDER BY id LIMIT $2)
     UPDATE messages m SET search_vector = to_tsvector((SELECT language FROM search_settings), m.body)
       FROM batch WHERE m.id = batch.id
     RETURNING m.id`,
    [afterId, limit],
  );
  return rows.reduce<string | undefined>(
    (last, row) => (last === undefined || BigInt(row.id) > BigInt(last) ? row.id : last),
    undefined,
  );
}
