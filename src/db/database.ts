// The database handle the rest of the service sees: which pool to use for what, transactions, stats, close.
// Reads that tolerate lag go to a replica in rotation (replicas.ts), or to the primary when none is, or when no
// replica has replayed the caller's own last write yet (the fence: a WAL position, see read-your-writes.ts).
import type pg from 'pg';
import { createPool, poolStats, type PoolSettings, type PoolStats } from './pool.js';
import {
  isConnectionFailure,
  lsnReached,
  Replica,
  ReplicaMonitor,
  type ReplicaSettings,
  type ReplicaStatus,
} from './replicas.js';
import type { Logger } from '../core/logger.js';

export type Queryable = Pick<pg.PoolClient, 'query'>;

export interface DatabaseStats {
  primary: PoolStats;
  replicas?: ReplicaStatus[];
}

export interface DatabaseSettings extends PoolSettings {
  /** Connections per replica pool per process (DB_READ_POOL_MAX); default `max`. */
  readPoolMax?: number;
  /** Required with replica URLs. */
  replicas?: ReplicaSettings;
}

export class Database {
  private nextReplica = 0;
  private lsnInFlight: Promise<string> | undefined;
  private lsnNext: Promise<string> | undefined;

  constructor(
    readonly primary: pg.Pool,
    readonly replicas: readonly Replica[] = [],
    private readonly monitor?: ReplicaMonitor,
  ) {}

  static connect(
    primaryUrl: string,
    replicaUrls: readonly string[],
    settings: DatabaseSettings,
    log: Logger,
  ): Database {
    if (replicaUrls.length > 0 && !settings.replicas) throw new Error('replica URLs given without replica settings');
    const primary = createPool(primaryUrl, 'parley:primary', settings, log);
    const readPoolMax = settings.readPoolMax ?? settings.max;
    const replicas = replicaUrls.map((url, index) => {
      const name = `replica-${index}`;
      const replica = new Replica(
        name,
        createPool(
          url,
          `parley:replica:${index}`,
          { ...settings, max: readPoolMax, min: Math.min(settings.min, readPoolMax) },
          log,
        ),
      );
      // An idle connection that dies (server stopped) says the replica is gone before any request finds out.
      replica.pool.on('error', (error) => replica.markDown(error));
      return replica;
    });
    if (!settings.replicas) return new Database(primary);
    const monitor = new ReplicaMonitor(primary, replicas, settings.replicas, log.child({ module: 'replicas' })).start();
    return new Database(primary, replicas, monitor);
  }

  /**
   * A pool for reads that tolerate lag: a replica in rotation, round-robin, that has replayed `fence` (a WAL
   * position the caller must see) as of its last check; the primary when there is none.
   */
  reader(fence?: string): pg.Pool {
    return this.pickReplica(fence)?.pool ?? this.primary;
  }

  /**
   * Runs a lag-tolerant read on reader(fence). A replica that fails to answer is taken out of rotation at once
   * and the read runs again on the primary: one failed attempt per request, whatever the number of replicas.
   */
  async read<T>(fence: string | undefined, work: (db: Queryable) => Promise<T>): Promise<T> {
    const replica = this.pickReplica(fence);
    if (!replica) return work(this.primary);
    try {
      return await work(replica.pool);
    } catch (error) {
      if (!isConnectionFailure(error)) throw error;
      replica.markDown(error);
      return work(this.primary);
    }
  }

  private pickReplica(fence: string | undefined): Replica | undefined {
    const count = this.replicas.length;
    for (let tried = 0; tried < count; tried += 1) {
      const replica = this.replicas[(this.nextReplica + tried) % count]!;
      if (replica.state !== 'up' || (fence !== undefined && !lsnReached(replica.replayLsn, fence))) continue;
      this.nextReplica = (this.nextReplica + tried + 1) % count;
      return replica;
    }
    return undefined;
  }

  /**
   * The primary's WAL insert position, asked after a commit: a replica that has replayed it has that commit.
   * A burst of writers shares round trips: while one query is in flight (it may have started before a caller's
   * commit), later callers share the next one, which starts after it.
   */
  walPositionAfterCommit(): Promise<string> {
    if (!this.lsnInFlight) return this.queryWalPosition();
    this.lsnNext ??= this.lsnInFlight
      .catch(() => undefined)
      .then(() => {
        this.lsnNext = undefined;
        return this.queryWalPosition();
      });
    return this.lsnNext;
  }

  private queryWalPosition(): Promise<string> {
    const promise = this.primary
      .query<{ lsn: string }>({ name: 'wal.insertLsn', text: 'SELECT pg_current_wal_insert_lsn()::text AS lsn' })
      .then((result) => result.rows[0]!.lsn);
    this.lsnInFlight = promise;
    void promise
      .catch(() => undefined)
      .then(() => {
        if (this.lsnInFlight === promise) this.lsnInFlight = undefined;
      });
    return promise;
  }

  /** Measures every replica now (the monitor does this each interval). */
  checkReplicas(): Promise<void> {
    return this.monitor?.check() ?? Promise.resolve();
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
  async withSessionLocks<T>(
    namespace: number,
    ids: readonly string[],
    work: (client: pg.PoolClient) => Promise<T>,
  ): Promise<T> {
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
      const unlock = {
        name: 'advisory.unlockMany',
        text: 'SELECT pg_advisory_unlock($1, k) FROM unnest($2::int[]) AS t(k)',
        values: [namespace, keys],
      };
      const unlocked =
        !locked ||
        (await client.query(unlock).then(
          () => true,
          () => false,
        ));
      client.release(!unlocked);
    }
  }

  /**
   * True when the primary answers a trivial query. Replicas do not count: reads fall back to the primary, so a
   * replica outage must not make every instance unready (nor block every start and reload under wait_ready).
   */
  async ping(): Promise<boolean> {
    try {
      await this.primary.query('SELECT 1');
      return true;
    } catch {
      return false;
    }
  }

  stats(): DatabaseStats {
    const stats: DatabaseStats = { primary: poolStats(this.primary) };
    if (this.replicas.length > 0) stats.replicas = this.replicas.map((replica) => replica.status());
    return stats;
  }

  async close(): Promise<void> {
    this.monitor?.stop();
    await Promise.all([this.primary, ...this.replicas.map((replica) => replica.pool)].map((pool) => pool.end()));
  }
}

/** The int advisory-lock key of a bigint id (the two-int form of pg_advisory_lock takes int4 keys). */
export const advisoryKey = (id: string): number => Number(BigInt(id) % 2147483647n);

export const isUniqueViolation = (error: unknown): boolean =>
  typeof error === 'object' && error !== null && (error as { code?: string }).code === '23505';
