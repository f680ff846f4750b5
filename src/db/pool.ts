// PostgreSQL pools: one primary for writes and read-your-own-write paths, optional replicas for reads that
// tolerate lag. Every pool has connect and statement timeouts and an error listener (an idle client's error
// with no listener would crash the process).
import pg from 'pg';
import type { Logger } from '../core/logger.js';

// int8 (bigint ids, seq) arrive as strings: ids stay strings per the contract; counts are cast in SQL.
export interface PoolSettings {
  max: number;
  min: number;
  idleTimeoutMs: number;
  connectTimeoutMs: number;
  statementTimeoutMs: number;
}

export interface PoolStats {
  total: number;
  idle: number;
  waiting: number;
}

export function createPool(url: string, name: string, settings: PoolSettings, log: Logger): pg.Pool {
  const pool = new pg.Pool({
    connectionString: url,
    application_name: name,
    max: settings.max,
    min: settings.min,
    idleTimeoutMillis: settings.idleTimeoutMs,
    connectionTimeoutMillis: settings.connectTimeoutMs,
    statement_timeout: settings.statementTimeoutMs,
    query_timeout: settings.statementTimeoutMs + 1_000,
  });
  pool.on('error', (error) => log.error({ err: error, pool: name }, 'idle database client failed'));
  // The pool listens to its idle clients only. A checked-out client whose server goes away (a restart, a
  // failover) emits 'error' too, and with no listener that crashed the process (test/chaos/postgres-restart).
  // Its query in flight fails on its own and the pool discards the dead client on release: nothing else to do.
  pool.on('connect', (client) => client.on('error', () => undefined));
  return pool;
}

export function poolStats(pool: pg.Pool): PoolStats {
  return { total: pool.totalCount, idle: pool.idleCount, waiting: pool.waitingCount };
}
