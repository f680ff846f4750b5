// SQL for refresh-token families. Only hashes of tokens are stored.
import type { Queryable } from './database.js';

export interface StoredRefreshToken {
  id: string;
  familyId: string;
  userId: string;
  expiresAt: Date;
  spentAt: Date | null;
  familyRevokedAt: Date | null;
}

export async function createFamily(db: Queryable, userId: string): Promise<string> {
  const { rows } = await db.query<{ id: string }>(
    'INSERT INTO refresh_token_families (user_id) VALUES ($1) RETURNING id',
    [userId],
  );
  return rows[0]!.id;
}

export async function insertToken(db: Queryable, familyId: string, tokenHash: Buffer, expiresAt: Date): Promise<void> {
  await db.query('INSERT INTO refresh_tokens (family_id, token_hash, expires_at) VALUES ($1, $2, $3)', [
    familyId,
    tokenHash,
    expiresAt,
  ]);
}

/** Locks the token row so two concurrent refreshes with one token are serialised: the second sees it spent. */
export async function findTokenForUpdate(db: Queryable, tokenHash: Buffer): Promise<StoredRefreshToken | undefined> {
  const { rows } = await db.query<{
    id: string;
    family_id: string;
    user_id: string;
    expires_at: Date;
    spent_at: Date | null;
    revoked_at: Date | null;
  }>(
    `SELECT t.id, t.family_id, f.user_id, t.expires_at, t.spent_at, f.revoked_at
       FROM refresh_tokens t JOIN refresh_token_families f ON f.id = t.family_id
      WHERE t.token_hash = $1
      FOR UPDATE OF t`,
    [tokenHash],
  );
  const row = rows[0];
  if (!row) return undefined;
  return {
    id: row.id,
    familyId: row.family_id,
    userId: row.user_id,
    expiresAt: row.expires_at,
    spentAt: row.spent_at,
    familyRevokedAt: row.revoked_at,
  };
}

export async function markSpent(db: Queryable, tokenId: string): Promise<void> {
  await db.query('UPDATE refresh_tokens SET spent_at = now() WHERE id = $1', [tokenId]);
}

// clock_timestamp(), not now(): the time of this statement rather than of its transaction's start, so a poller
// looking back a fixed window past its last reading cannot miss it (services/revocations.ts).
export async function revokeFamily(db: Queryable, familyId: string): Promise<void> {
  await db.query(
    'UPDATE refresh_token_families SET revoked_at = clock_timestamp() WHERE id = $1 AND revoked_at IS NULL',
    [familyId],
  );
}

/** Families revoked after `since`, and the database's clock now (polled by services/revocations.ts). */
export async function familiesRevokedSince(
  db: Queryable,
  since: Date,
): Promise<{ families: { id: string; revokedAt: Date }[]; now: Date }> {
  const { rows } = await db.query<{ id: string | null; revoked_at: Date | null; now: Date }>(
    `SELECT f.id, f.revoked_at, t.now
       FROM (SELECT clock_timestamp() AS now) t
       LEFT JOIN refresh_token_families f ON f.revoked_at > $1`,
    [since],
  );
  const families = rows.filter((row) => row.id !== null).map((row) => ({ id: row.id!, revokedAt: row.revoked_at! }));
  return { families, now: rows[0]!.now };
}
