// Custom metrics for `pm2 monit` (through tx2, which reports to the PM2 daemon over the IPC channel and does
// nothing without one). Values come from the /health report's sections, so the realtime, worker-pool and upload code
// only need to register their probes; a section that is absent reads as 0.
import type http from 'node:http';
import tx2 from 'tx2';
import type { Health } from './health.js';

const REFRESH_MS = 5_000;

/** Requests in the last 60 one-second buckets. */
export class PerMinuteCounter {
  private readonly buckets = new Array<number>(60).fill(0);
  private bucketSecond: number;

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
  uploadsReceiving: number;
  memoryGuard: string;
  heapUsedMb: number;
}

/**
 * Reads the numbers pm2 monit shows from a /health report body. Sections come from probes registered by other
 * modules (sockets from realtime, memoryGuard from main.ts); one that is absent reads as 0 or 'off'.
 */
export function snapshotFromReport(body: HealthReportBody): MonitSnapshot {
  return {
    sockets: body.sockets?.connected ?? 0,
    eventLoopLagMs: body.eventLoopLagMs ?? 0,
    dbPoolWaiting: body.db?.primary?.waiting ?? 0,
    workerPoolQueued: body.workerPool?.queued ?? 0,
    uploadsReceiving: body.uploadThreads?.running ?? 0,
    memoryGuard: body.memoryGuard?.state ?? 'off',
    heapUsedMb: Math.round((body.memory?.heapUsed ?? 0) / 1024 / 1024),
  };
}

/** The parts of the /health body read here. */
interface HealthReportBody {
  sockets?: { connected?: number };
  eventLoopLagMs?: number;
  db?: { primary?: { waiting?: number } };
  workerPool?: { queued?: number };
  uploadThreads?: { running?: number };
  memoryGuard?: { state?: string };
  memory?: { heapUsed?: number };
}

export function startPm2Metrics(server: http.Server, health: Health): () => void {
  const requests = new PerMinuteCounter();
  server.on('request', () => requests.add());
  // The report's local sections only: /health's readiness pings of the database and Redis are not needed here.
  const read = () => snapshotFromReport(health.sections() as HealthReportBody);
  let snapshot = read();
  const timer = setInterval(() => (snapshot = read()), REFRESH_MS).unref();

  tx2.metric({ name: 'Sockets', value: () => snapshot.sockets });
  tx2.metric({ name: 'HTTP req/min', value: () => requests.perMinute() });
  tx2.metric({ name: 'Event loop lag', unit: 'ms', value: () => snapshot.eventLoopLagMs });
  tx2.metric({ name: 'DB pool waiting', value: () => snapshot.dbPoolWaiting });
  tx2.metric({ name: 'Worker pool queue', value: () => snapshot.workerPoolQueued });
  tx2.metric({ name: 'Uploads receiving', value: () => snapshot.uploadsReceiving });
  tx2.metric({ name: 'Memory guard', value: () => snapshot.memoryGuard });
  tx2.metric({ name: 'Heap used', unit: 'MB', value: () => snapshot.heapUsedMb });
  return () => clearInterval(timer);
}
