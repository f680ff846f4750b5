-- Up Migration

-- Offline notifications (src/jobs/, docs/jobs.md). A transactional outbox: the send's own statement writes one
-- row per stored message (db/messages.repository.ts insertBatch), so the intent to notify commits or rolls back
-- with the message. No foreign keys: the hot path pays for no extra index look-ups; the relay joins what exists.
CREATE TABLE notification_outbox (
  id              bigserial PRIMARY KEY,
  message_id      bigint NOT NULL,
  conversation_id bigint NOT NULL,
  sender_id       bigint NOT NULL,
  created_at      timestamptz NOT NULL DEFAULT now()
);

-- The relay fans outbox rows out to one delivery per recipient. A recipient has at most one open delivery (not
-- sealed yet) and later messages join it, so messages within the delay go out together. The delivery id is what
-- receivers dedupe by: it is fixed here, in PostgreSQL, and survives job retries, process deaths and an empty Redis.
-- A delivery row is deleted once delivered (or found unneeded: user online, messages read) or dead-lettered.
CREATE TABLE notification_deliveries (
  delivery_id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  user_id     bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  due_at      timestamptz NOT NULL,
  created_at  timestamptz NOT NULL DEFAULT now(),
  -- Set by the first attempt: from then on no message joins, and `payload` is the exact body every attempt POSTs.
  sealed_at   timestamptz,
  payload     text,
  attempts    integer NOT NULL DEFAULT 0,
  last_error  text,
  -- When the relay last put it on the queue; a row queued long ago and still here is looked up in the queue again.
  relayed_at  timestamptz
);
CREATE UNIQUE INDEX notification_deliveries_open_idx ON notification_deliveries (user_id) WHERE sealed_at IS NULL;
CREATE INDEX notification_deliveries_relay_idx ON notification_deliveries (relayed_at NULLS FIRST);

CREATE TABLE notification_delivery_messages (
  delivery_id uuid NOT NULL REFERENCES notification_deliveries (delivery_id) ON DELETE CASCADE,
  message_id  bigint NOT NULL,
  PRIMARY KEY (delivery_id, message_id)
);

-- Deliveries given up on (NOTIFY_MAX_ATTEMPTS reached, or a 4xx that retrying cannot fix), for operators.
CREATE TABLE notification_dead_letters (
  delivery_id uuid PRIMARY KEY,
  user_id     bigint NOT NULL,
  payload     text,
  attempts    integer NOT NULL,
  last_error  text,
  created_at  timestamptz NOT NULL,
  dead_at     timestamptz NOT NULL DEFAULT now()
);

-- Jobs a user asked for (exports). The row is the truth; the queue only runs it, and the relay puts a queued or
-- running job back on the queue when Redis lost it.
CREATE TABLE jobs (
  id              bigserial PRIMARY KEY,
  kind            text NOT NULL CHECK (kind IN ('export')),
  user_id         bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  conversation_id bigint REFERENCES conversations (id) ON DELETE CASCADE,
  status          text NOT NULL DEFAULT 'queued' CHECK (status IN ('queued', 'running', 'done', 'failed')),
  attempts        integer NOT NULL DEFAULT 0,
  file_path       text,
  error           text,
  relayed_at      timestamptz,
  created_at      timestamptz NOT NULL DEFAULT now(),
  finished_at     timestamptz,
  -- Files and rows are deleted after EXPORT_TTL.
  expires_at      timestamptz
);
-- One export queued or running per user.
CREATE UNIQUE INDEX jobs_one_export_per_user_idx ON jobs (user_id) WHERE kind = 'export' AND status IN ('queued', 'running');
CREATE INDEX jobs_unfinished_idx ON jobs (relayed_at NULLS FIRST) WHERE status IN ('queued', 'running');
CREATE INDEX jobs_expiry_idx ON jobs (expires_at) WHERE expires_at IS NOT NULL;

-- Down Migration

DROP TABLE jobs;
DROP TABLE notification_dead_letters;
DROP TABLE notification_delivery_messages;
DROP TABLE notification_deliveries;
DROP TABLE notification_outbox;
