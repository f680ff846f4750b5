// SQL for users. Rows leave this file as the contract's user shape.
import type { User } from '../contract/users.js';
import type { Queryable } from './database.js';

interface UserRow {
  id: string;
  username: string;
  display_name: string;
  created_at: Date;
}

export const USER_COLUMNS = 'u.id, u.username, u.display_name, u.created_at';

export const toUser = (row: UserRow): User => ({
  id: row.id,
  username: row.username,
  displayName: row.display_name,
  createdAt: row.created_at.toISOString(),
});

export async function insertUser(
  db: Queryable,
  input: { username: string; displayName: string; passwordHash: string },
): Promise<User> {
  const { rows } = await db.query<UserRow>(
    `INSERT INTO users AS u (username, display_name, password_hash) VALUES ($1, $2, $3) RETURNING ${USER_COLUMNS}`,
    [input.username, input.displayName, input.passwordHash],
  );
  return toUser(rows[0]!);
}

export async function findCredentials(
  db: Queryable,
  username: string,
): Promise<{ user: User; passwordHash: string } | undefined> {
  const { rows } = await db.query<UserRow & { password_hash: string }>(
    `SELECT ${USER_COLUMNS}, u.password_hash FROM users u WHERE u.username = $1`,
    [username],
  );
  const row = rows[0];
  return row ? { user: toUser(row), passwordHash: row.password_hash } : undefined;
}

export async function findUserById(db: Queryable, id: string): Promise<User | undefined> {
  const { rows } = await db.query<UserRow>(`SELECT ${USER_COLUMNS} FROM users u WHERE u.id = $1`, [id]);
  return rows[0] ? toUser(rows[0]) : undefined;
}

export async function countExistingUsers(db: Queryable, ids: string[]): Promise<number> {
  const { rows } = await db.query<{ n: number }>('SELECT count(*)::int AS n FROM users WHERE id = ANY($1::bigint[])', [
    ids,
  ]);
  return rows[0]!.n;
}

export async function searchUsersByPrefix(db: Queryable, prefix: string, limit: number): Promise<User[]> {
  // Escape LIKE wildcards so the prefix is literal.
  const pattern = `${prefix.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
  const { rows } = await db.query<UserRow>(
    `SELECT ${USER_COLUMNS} FROM users u WHERE u.username LIKE $1 ORDER BY u.username LIMIT $2`,
    [pattern, limit],
  );
  return rows.map(toUser);
}
