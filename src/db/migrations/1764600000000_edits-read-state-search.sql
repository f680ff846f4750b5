-- Up Migration

-- Editing and deleting (services/message-changes.ts). Every edit or delete takes the conversation's row lock and,
-- in one statement, bumps the conversation's change counter and stamps the message with the new value: change
-- numbers per conversation follow commit order, as seqs do, so "changes after N" read at any moment can never
-- skip one committed later with a smaller number. A message edited twice keeps only its latest number (and body:
-- previous bodies are not stored).
ALTER TABLE conversations ADD COLUMN last_change_seq bigint NOT NULL DEFAULT 0;
ALTER TABLE messages
  ADD COLUMN edited_at timestamptz,
  ADD COLUMN deleted_at timestamptz,
  ADD COLUMN change_seq bigint,
  -- Written with the body (insert, edit) in the language of search_settings; NULL once deleted, so deleted
  -- messages never match.
  ADD COLUMN search_vector tsvector;
CREATE INDEX messages_changes_idx ON messages (conversation_id, change_seq) WHERE change_seq IS NOT NULL;

-- Paged conversation lists, most recent activity first: a global counter taken by every send, so the keyset
-- (activity_seq) is unique and exact (no timestamp precision or ties to break).
CREATE SEQUENCE conversation_activity_seq;
ALTER TABLE conversations ADD COLUMN activity_seq bigint;
UPDATE conversations c SET activity_seq = o.n
  FROM (SELECT c2.id, row_number() OVER (ORDER BY coalesce(m.created_at, c2.created_at), c2.id) AS n
          FROM conversations c2 LEFT JOIN messages m ON m.conversation_id = c2.id AND m.seq = c2.last_seq) o
 WHERE o.id = c.id;
SELECT setval('conversation_activity_seq', coalesce((SELECT max(activity_seq) FROM conversations), 0) + 1, false);
ALTER TABLE conversations
  ALTER COLUMN activity_seq SET DEFAULT nextval('conversation_activity_seq'),
  ALTER COLUMN activity_seq SET NOT NULL;

-- Full-text search (services/search.service.ts). One row: the text-search configuration messages are indexed
-- with; SEARCH_LANGUAGE is written here at start, and a change re-indexes the stored messages.
CREATE TABLE search_settings (
  id       boolean PRIMARY KEY DEFAULT true CHECK (id),
  language regconfig NOT NULL DEFAULT 'simple'
);
INSERT INTO search_settings DEFAULT VALUES;
UPDATE messages SET search_vector = to_tsvector('simple', body);
CREATE INDEX messages_search_idx ON messages USING gin (search_vector) WHERE deleted_at IS NULL;

-- Down Migration

DROP INDEX messages_search_idx;
DROP TABLE search_settings;
ALTER TABLE conversations DROP COLUMN activity_seq;
DROP SEQUENCE conversation_activity_seq;
DROP INDEX messages_changes_idx;
ALTER TABLE messages DROP COLUMN search_vector, DROP COLUMN change_seq, DROP COLUMN deleted_at, DROP COLUMN edited_at;
ALTER TABLE conversations DROP COLUMN last_change_seq;
