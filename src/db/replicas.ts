// Streaming replicas as the read path sees them: each one's pool, whether it is in rotation, and how far behind
// the primary it is. A background check measures every replica each interval; a failed query marks a replica down
// at once (the request that saw it fail retries elsewhere), and the next successful check brings it back.
//
// Lag is measured by WAL position, never by pg_last_xact_replay_timestamp() (which grows while the primary is
// idle): bytes = primary's current LSN - replica's replay LSN; seconds = how long ago the primary was first seen
// past the replica's replay position (from the check's own samples of the primary's LSN).
import type pg from 'pg';
import type { Logger } from '../core/logger.js';
import type { PoolStats } from './pool.js';
import { poolStats } from './pool.js';

export type ReplicaState = 'up' | 'lagging' | 'down';

export interface ReplicaSettings {
  /** Out of rotation while its lag is above this. */
  maxLagMs: number;
  checkIntervalMs: number;
}

export interface ReplicaStatus {
  name: string;
  state: ReplicaState;
  /** The replica's replay position at the last check (null before the first successful one). */
  replayLsn: string | null;
  lagBytes: number | null;
  lagSeconds: number | null;
  lastError?: string;
  pool: PoolStats;
}

/** An LSN "X/Y" as a number of bytes (exact up to 2^53: ~9 PB of WAL). */
export function lsnToBytes(lsn: string): number {
  const [high, low] = lsn.split('/');
  return parseInt(high!, 16) * 2 ** 32 + parseInt(low!, 16);
}

/** The "X/Y" form of a byte position (lsnToBytes' inverse). */
export const bytesToLsn = (bytes: number): string =>
  `${Math.floor(bytes / 2 ** 32)
    .toString(16)
    .toUpperCase()}/${(bytes % 2 ** 32).toString(16).toUpperCase()}`;

/** True when `lsn` is at or past `fence`. */
export const lsnReached = (lsn: string | null, fence: string): boolean =>
  lsn !== null && lsnToBytes(lsn) >= lsnToBytes(fence);

/** Errors that say the server (not the query) is the problem: the request retries elsewhere. */
export function isConnectionFailure(error: unknown): boolean {
  const { code, message } = (error ?? {}) as { code?: string; message?: string };
  if (code === undefined)
    return /Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error/i.test(
      message ?? '',
    );
  // 57P01-57P03: admin shutdown, crash shutdown, cannot connect now; 08xxx: connection exceptions.
  return (
    ['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENOTFOUND', 'EPIPE'].includes(code) ||
    /^57P0[123]$/.test(code) ||
    code.startsWith('08')
  );
}

export class Replica {
  state: ReplicaState = 'up';
  replayLsn: string | null = null;
  lagBytes: number | null = null;
  lagSeconds: number | null = null;
  lastError: string | undefined;

  constructor(
    readonly name: string,
    readonly pool: pg.Pool,
  ) {}

  markDown(error: unknown): void {
    this.state = 'down';
    this.lastError = (error as Error)?.message ?? String(error);
  }

  status(): ReplicaStatus {
    const lag = { replayLsn: this.replayLsn, lagBytes: this.lagBytes, lagSeconds: this.lagSeconds };
    return {
      name: this.name,
      state: this.state,
      ...lag,
      ...(this.lastError ? { lastError: this.lastError } : {}),
      pool: poolStats(this.pool),
    };
  }
}

/** Samples of the primary's LSN over the last while, to turn a replay position into seconds behind. */
class PrimaryHistory {
  private samples: Array<{ at: number; bytes: number }> = [];

  add(at: number, bytes: number, keepMs: number): void {
    this.samples.push({ at, bytes });
    while (this.samples.length > 2 && this.samples[0]!.at < at - keepMs) this.samples.shift();
  }

  /** Seconds since the primary was first seen past `replayBytes` (0 when the replica is level with the last sample). */
  secondsBehind(now: number, replayBytes: number): number {
    const firstAhead = this.samples.find((sample) => sample.bytes > replayBytes);
    return firstAhead ? (now - firstAhead.at) / 1000 : 0;
  }
}

export class ReplicaMonitor {
  private timer: NodeJS.Timeout | undefined;
  private readonly history = new PrimaryHistory();
  private running: Promise<void> | undefined;

  constructor(
    private readonly primary: pg.Pool,
    readonly replicas: readonly Replica[],
    private readonly settings: ReplicaSettings,
    private readonly log: Logger,
  ) {}

  start(): this {
    if (this.replicas.length === 0) return this;
    void this.check();
    this.timer = setInterval(() => void this.check(), this.settings.checkIntervalMs);
    this.timer.unref();
    return this;
  }

  stop(): void {
    clearInterval(this.timer);
  }

  /** One round of checks (the interval runs these; tests call it to skip the wait). Never rejects. */
  check(): Promise<void> {
    this.running ??= this.checkAll().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  private async checkAll(): Promise<void> {
    let primaryBytes: number;
    try {
      const { rows } = await this.primary.query<{ lsn: string }>({
        name: 'replicas.primaryLsn',
        text: 'SELECT pg_current_wal_lsn()::text AS lsn',
      });
      primaryBytes = lsnToBytes(rows[0]!.lsn);
    } catch {
      return; // Without the primary there is nothing to measure against; readiness reports the primary.
    }
    const now = Date.now();
    // Kept long enough to measure lag well past the limit, so "how far behind" stays a number.
    this.history.add(now, primaryBytes, Math.max(60_000, this.settings.maxLagMs * 4));
    await Promise.all(this.replicas.map((replica) => this.checkOne(replica, now, primaryBytes)));
  }

  private async checkOne(replica: Replica, now: number, primaryBytes: number): Promise<void> {
    const before = replica.state;
    try {
      const { rows } = await replica.pool.query<{ lsn: string | null }>({
        name: 'replicas.replayLsn',
        text: 'SELECT pg_last_wal_replay_lsn()::text AS lsn',
      });
      const lsn = rows[0]!.lsn;
      // null: not a standby (or never replayed anything); it cannot be measured, so it is not trusted.
      if (lsn === null)
        throw new Error('not replaying WAL (pg_last_wal_replay_lsn() is null): not a streaming replica');
      const replayBytes = lsnToBytes(lsn);
      replica.replayLsn = lsn;
      replica.lagBytes = Math.max(0, primaryBytes - replayBytes);
      replica.lagSeconds = this.history.secondsBehind(now, replayBytes);
      replica.state = replica.lagSeconds * 1000 > this.settings.maxLagMs ? 'lagging' : 'up';
      replica.lastError = undefined;
    } catch (error) {
      replica.markDown(error);
    }
    if (replica.state !== before) {
      const fields = {
        replica: replica.name,
        from: before,
        to: replica.state,
        lagSeconds: replica.lagSeconds,
        error: replica.lastError,
      };
      if (replica.state === 'up') this.log.info(fields, 'replica back in rotation');
      else this.log.warn(fields, 'replica out of rotation');
    }
  }
}
