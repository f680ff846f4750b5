// The database handle the rest of the service sees: which pool to use for what, transactions, stats, close.
import type pg from 'pg';
import { createPool, poolStats, type PoolSettings, type PoolStats } from './pool.js';
import type { Logger } from '../core/logger.js';

export type Queryable = Pick<pg.PoolClient, 'query'>;

export interface DatabaseStats {
  primary: PoolStats;
  replicas?: PoolStats[];
}

export class Database {
  private nextReplica = 0;

  constructor(
    readonly primary: pg.Pool,
    readonly replicas: pg.Pool[],
  ) {}

  static connect(primaryUrl: string, replicaUrls: readonly string[], settings: PoolSettings, log: Logger): Database {
    const primary = createPool(primaryUrl, 'parley:primary', settings, log);
    const replicas = replicaUrls.map((url, index) => createPool(url, `parley:replica:${index}`, settings, log));
    return new Database(primary, replicas);
  }

  /** A pool for reads that tolerate replication lag; the primary when there are no replicas. */
  reader(): pg.Pool {
    if (this.replicas.length === 0) return this.primary;
    const pool = this.replicas[this.nextReplica % this.replicas.length]!;
    this.nextReplica = (this.nextReplica + 1) % this.replicas.length;
    return pool;
  }

  async withTransaction<T>(work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    const client = await this.primary.connect();
    try {
      await client.query('BEGIN');
      const result = await work(client);
      await client.query('COMMIT');
      return result;
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw error;
    } finally {
      client.release();
    }
  }

  /**
   * Runs `work` on one primary connection holding session-level advisory locks on (namespace, key of each id):
   * unlike row locks they outlive COMMIT, so what `work` does after committing (announcing) is serialized too.
   * Two round trips (lock all, unlock all); the keys are taken in ascending order, so two holders of overlapping
   * sets cannot deadlock. Ids are bigint strings (advisoryKey).
   */
  async withSessionLocks<T>(namespace: number, ids: readonly string[], work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    const keys = [...new Set(ids.map(advisoryKey))].sort((a, b) => a - b);
    const client = await this.primary.connect();
    let locked = false;
    try {
      // unnest WITH ORDINALITY scans the array in order and the locks are taken row by row, in that order.
      await client.query({
        name: 'advisory.lockMany',
        text: 'SELECT pg_advisory_lock($1, k) FROM unnest($2::int[]) WITH ORDINALITY AS t(k, n) ORDER BY n',
        values: [namespace, keys],
      });
      locked = true;
      return await work(client);
    } finally {
      const unlock = { name: 'advisory.unlockMany', text: 'SELECT pg_advisory_unlock($1, k) FROM unnest($2::int[]) AS t(k)', values: [namespace, keys] };
      const unlocked = !locked || (await client.query(unlock).then(() => true, () => false));
      client.release(!unlocked);
    }
  }

  /** True when the primary and every replica answer a trivial query. */
  async ping(): Promise<boolean> {
    try {
      await Promise.all([this.primary, ...this.replicas].map((pool) => pool.query('SELECT 1')));
      return true;
    } catch {
      return false;
    }
  }

  stats(): DatabaseStats {
    const stats: DatabaseStats = { primary: poolStats(this.primary) };
    if (this.replicas.length > 0) stats.replicas = this.replicas.map(poolStats);
    return stats;
  }

  async close(): Promise<void> {
    await Promise.all([this.primary, ...this.replicas].map((pool) => pool.end()));
  }
}

/** The int advisory-lock key of a bigint id (the two-int form of pg_advisory_lock takes int4 keys). */
export const advisoryKey = (id: string): number => Number(BigInt(id) % 2147483647n);

export const isUniqueViolation = (error: unknown): boolean =>
  typeof error === 'object' && error !== null && (error as { code?: string }).code === '23505';
