-- Up Migration

-- Attachments (docs/attachments.md). A row exists only once its bytes are in the store: the upload writes the
-- object first and inserts the row last, so no row ever points at a half-written object.
CREATE TABLE attachments (
  id            bigserial PRIMARY KEY,
  uploader_id   bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  -- A display label only (path parts and control characters refused or stripped at upload); never part of a path.
  name          text NOT NULL,
  size          bigint NOT NULL,
  -- Sniffed from the bytes at upload, never the client's word.
  content_type  text NOT NULL,
  sha256        text NOT NULL,
  -- Which store holds the object and under which key: a store change keeps serving what the old one holds
  -- only while the old store is configured (docs: changing stores).
  store         text NOT NULL,
  storage_key   text NOT NULL,
  thumbnail_key text,
  -- Set once, by the send that attaches it (under a row lock, so one upload goes to one message).
  message_id    bigint REFERENCES messages (id) ON DELETE SET NULL,
  created_at    timestamptz NOT NULL DEFAULT now(),
  -- Detached (message deleted) or orphaned (never attached within ATTACHMENT_ORPHAN_TTL): no longer served,
  -- its objects removed by the sweep after ATTACHMENT_DELETE_GRACE.
  deleted_at    timestamptz
);
CREATE INDEX attachments_uploader_idx ON attachments (uploader_id) WHERE deleted_at IS NULL;
CREATE INDEX attachments_message_idx ON attachments (message_id) WHERE message_id IS NOT NULL;
CREATE INDEX attachments_orphans_idx ON attachments (created_at) WHERE message_id IS NULL AND deleted_at IS NULL;
CREATE INDEX attachments_deleted_idx ON attachments (deleted_at) WHERE deleted_at IS NOT NULL;

-- What a message shows of its attachments ({id, name, size, contentType, url}), written by the send in the same
-- statement that claims the rows: every path that reads messages (history, sync, export, search, the history
-- cache) carries them without a join. Emptied when the message is deleted.
ALTER TABLE messages ADD COLUMN attachments jsonb NOT NULL DEFAULT '[]';

-- Down Migration
ALTER TABLE messages DROP COLUMN attachments;
DROP TABLE attachments;
