// Custom metrics for `pm2 monit` (through tx2, which reports to the PM2 daemon over the IPC channel and does
// nothing without one). Values come from the /health report's sections, so the realtime and worker-pool code only
// need to register their probes; a section that is absent reads as 0.
import type http from 'node:http';
import tx2 from 'tx2';
import type { Health } from './health.js';

const REFRESH_MS = 5_000;

/** Requests in the last 60 one-second buckets. */
export class PerMinuteCounter {
  private readonly buckets = new Array<number>(60).fill(0);
  private bucketSecond = Math.floor(Date.now() / 1000);

  constructor(private readonly now: () => number = Date.now) {
    this.bucketSecond = Math.floor(now() / 1000);
  }

  add(): void {
    this.advance();
    this.buckets[this.bucketSecond % 60]! += 1;
  }

  perMinute(): number {
    this.advance();
    return this.buckets.reduce((sum, count) => sum + count, 0);
  }

  private advance(): void {
    const second = Math.floor(this.now() / 1000);
    for (let s = this.bucketSecond + 1; s <= Math.min(second, this.bucketSecond + 60); s += 1) this.buckets[s % 60] = 0;
    this.bucketSecond = Math.max(this.bucketSecond, second);
  }
}

export interface MonitSnapshot {
  sockets: number;
  eventLoopLagMs: number;
  dbPoolWaiting: number;
  workerPoolQueued: number;
  memoryGuard: string;
  heapUsedMb: number;
}

/** Reads the numbers pm2 monit shows from a /health report body; tolerant of sections other branches add. */
export function snapshotFromReport(body: Record<string, unknown>): MonitSnapshot {
  const db = body.db as { primary?: { waiting?: number } } | undefined;
  return {
    sockets: firstNumber(body.sockets, ['connected', 'count', 'local', 'total']),
    eventLoopLagMs: firstNumber(body.eventLoopLagMs, []),
    dbPoolWaiting: firstNumber(db?.primary?.waiting, []),
    workerPoolQueued: firstNumber(body.workerPool, ['queued', 'queueSize', 'queue']),
    memoryGuard: String((body.memoryGuard as { state?: string } | undefined)?.state ?? 'off'),
    heapUsedMb: Math.round(firstNumber(body.memory, ['heapUsed']) / 1024 / 1024),
  };
}

function firstNumber(section: unknown, keys: string[]): number {
  if (typeof section === 'number' && Number.isFinite(section)) return section;
  if (section && typeof section === 'object') {
    for (const key of keys) {
      const value = (section as Record<string, unknown>)[key];
      if (typeof value === 'number' && Number.isFinite(value)) return value;
    }
  }
  return 0;
}

export function startPm2Metrics(server: http.Server, health: Health): () => void {
  const requests = new PerMinuteCounter();
  server.on('request', () => requests.add());
  let snapshot: MonitSnapshot = { sockets: 0, eventLoopLagMs: 0, dbPoolWaiting: 0, workerPoolQueued: 0, memoryGuard: 'ok', heapUsedMb: 0 };
  const refresh = () =>
    health.report().then(
      ({ body }) => {
        snapshot = snapshotFromReport(body);
      },
      () => undefined,
    );
  void refresh();
  const timer = setInterval(refresh, REFRESH_MS).unref();

  tx2.metric({ name: 'Sockets', value: () => snapshot.sockets });
  tx2.metric({ name: 'HTTP req/min', value: () => requests.perMinute() });
  tx2.metric({ name: 'Event loop lag', unit: 'ms', value: () => snapshot.eventLoopLagMs });
  tx2.metric({ name: 'DB pool waiting', value: () => snapshot.dbPoolWaiting });
  tx2.metric({ name: 'Worker pool queue', value: () => snapshot.workerPoolQueued });
  tx2.metric({ name: 'Memory guard', value: () => snapshot.memoryGuard });
  tx2.metric({ name: 'Heap used', unit: 'MB', value: () => snapshot.heapUsedMb });
  return () => clearInterval(timer);
}
