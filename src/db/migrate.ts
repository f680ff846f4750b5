// Applies pending migrations at start. node-pg-migrate takes a PostgreSQL advisory lock and, in `wait` mode,
// several instances starting at once queue behind it instead of failing or racing.
import { fileURLToPath } from 'node:url';
import { runner } from 'node-pg-migrate';
import type pg from 'pg';
import type { Logger } from '../core/logger.js';

// Resolved from this file so it works from src/ (tsx) and dist/ (compiled) alike: both sit two levels below the
// project root, and the SQL files ship in src/db/migrations.
export const MIGRATIONS_DIR = fileURLToPath(new URL('../../src/db/migrations', import.meta.url));

export async function migrate(pool: pg.Pool, log: Logger): Promise<string[]> {
  // A client from the pool rather than a URL: the embedded database serves a single connection.
  const client = await pool.connect();
  try {
    const applied = await runner({
      dbClient: client,
      dir: MIGRATIONS_DIR,
      direction: 'up',
      migrationsTable: 'pgmigrations',
      advisoryLockMode: 'wait',
      singleTransaction: true,
      log: () => undefined,
    });
    const names = applied.map((migration) => migration.name);
    if (names.length > 0) log.info({ migrations: names }, 'applied database migrations');
    return names;
  } finally {
    client.release();
  }
}
