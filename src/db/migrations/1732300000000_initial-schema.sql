-- Up Migration

CREATE TABLE users (
  id            bigserial PRIMARY KEY,
  username      text NOT NULL UNIQUE,
  display_name  text NOT NULL,
  password_hash text NOT NULL,
  created_at    timestamptz NOT NULL DEFAULT now()
);
-- User search is a prefix match on username.
CREATE INDEX users_username_prefix_idx ON users (username text_pattern_ops);

-- Refresh tokens rotate inside a family; a spent token presented again revokes the whole family.
CREATE TABLE refresh_token_families (
  id         bigserial PRIMARY KEY,
  user_id    bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  revoked_at timestamptz,
  created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE refresh_tokens (
  id         bigserial PRIMARY KEY,
  family_id  bigint NOT NULL REFERENCES refresh_token_families (id) ON DELETE CASCADE,
  token_hash bytea NOT NULL UNIQUE,
  expires_at timestamptz NOT NULL,
  spent_at   timestamptz,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX refresh_tokens_family_idx ON refresh_tokens (family_id);

CREATE TABLE conversations (
  id         bigserial PRIMARY KEY,
  kind       text NOT NULL CHECK (kind IN ('direct', 'group')),
  title      text,
  -- "lowId:highId" for direct conversations, so the same pair can never get two.
  direct_key text UNIQUE,
  -- The last seq handed out. Bumped under the row lock in the same transaction as the message insert, so seqs
  -- have no gaps and follow commit order.
  last_seq   bigint NOT NULL DEFAULT 0,
  created_by bigint REFERENCES users (id) ON DELETE SET NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  CHECK ((kind = 'direct') = (direct_key IS NOT NULL))
);

CREATE TABLE conversation_members (
  conversation_id bigint NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
  user_id         bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  last_read_seq   bigint NOT NULL DEFAULT 0,
  joined_at       timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (conversation_id, user_id)
);
CREATE INDEX conversation_members_user_idx ON conversation_members (user_id, conversation_id);

CREATE TABLE messages (
  id              bigserial PRIMARY KEY,
  conversation_id bigint NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
  seq             bigint NOT NULL,
  sender_id       bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  body            text NOT NULL,
  client_msg_id   text NOT NULL,
  created_at      timestamptz NOT NULL DEFAULT now(),
  UNIQUE (conversation_id, seq),
  UNIQUE (sender_id, client_msg_id)
);

-- Down Migration

DROP TABLE messages;
DROP TABLE conversation_members;
DROP TABLE conversations;
DROP TABLE refresh_tokens;
DROP TABLE refresh_token_families;
DROP TABLE users;
