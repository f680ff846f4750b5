// What /health reports. Sources that later parts of the service add (sockets, worker pool) register a probe
// here instead of this file learning about them.
import { getHeapStatistics } from 'node:v8';
import type { Redis } from 'ioredis';
import type { Database } from '../db/database.js';
import { isRedisReady } from '../redis/client.js';
import type { EventLoopMonitor } from './event-loop.js';

export type HealthProbe = () => unknown;

export interface HealthDeps {
  version: string;
  instanceId: string;
  db: Database;
  redis?: Redis;
  eventLoop: EventLoopMonitor;
  isDraining(): boolean;
}

export class Health {
  private readonly probes = new Map<string, HealthProbe>();

  constructor(private readonly deps: HealthDeps) {}

  /** Adds a named section to the /health report (e.g. `sockets`, `workerPool`). */
  addProbe(name: string, probe: HealthProbe): void {
    this.probes.set(name, probe);
  }

  /** Ready: the database (and Redis, when configured) answer, and the process is not draining. */
  async ready(): Promise<{ ready: boolean; checks: Record<string, boolean> }> {
    const checks: Record<string, boolean> = {
      draining: this.deps.isDraining(),
      database: await this.deps.db.ping(),
    };
    if (this.deps.redis) checks.redis = await pingRedis(this.deps.redis);
    return { ready: !checks.draining && checks.database === true && checks.redis !== false, checks };
  }

  async report(): Promise<{ ok: boolean; body: Record<string, unknown> }> {
    const { ready, checks } = await this.ready();
    const status = ready ? 'ok' : checks.draining ? 'draining' : 'degraded';
    return { ok: ready, body: { status, ...this.sections() } };
  }

  /** Everything in the report but its status: this process's own numbers, no query to the database or Redis. */
  sections(): Record<string, unknown> {
    const memory = process.memoryUsage();
    const body: Record<string, unknown> = {
      version: this.deps.version,
      instanceId: this.deps.instanceId,
      pid: process.pid,
      uptimeSec: Math.round(process.uptime()),
      memory: { rss: memory.rss, heapUsed: memory.heapUsed, heapLimit: getHeapStatistics().heap_size_limit },
      eventLoopLagMs: this.deps.eventLoop.lagMs(),
      db: this.deps.db.stats(),
      redis: this.deps.redis ? { connected: isRedisReady(this.deps.redis) } : { configured: false, connected: false },
    };
    for (const [name, probe] of this.probes) body[name] = probe();
    return body;
  }
}

async function pingRedis(redis: Redis): Promise<boolean> {
  if (!isRedisReady(redis)) return false;
  try {
    return (await redis.ping()) === 'PONG';
  } catch {
    return false;
  }
}
