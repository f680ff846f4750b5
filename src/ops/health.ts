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
  /** How long a dependency check is reused (HEALTH_CACHE_MS). */
  cacheMs: number;
}

type DependencyChecks = Record<string, boolean>;

export class Health {
  private readonly probes = new Map<string, HealthProbe>();
  private readonly dependencyChecks = new Map<string, () => Promise<boolean>>();
  /**
   * Readiness is public and cheap to ask for: 150 parallel probes used to run 150 database pings and fill the pool
   * in front of real requests. Now a check's answer is reused for cacheMs, and at most one check is in flight.
   */
  private last?: { at: number; checks: DependencyChecks };
  private inFlight?: Promise<DependencyChecks>;

  constructor(private readonly deps: HealthDeps) {}

  /** Adds a named section to the /health report (e.g. `sockets`, `workerPool`). */
  addProbe(name: string, probe: HealthProbe): void {
    this.probes.set(name, probe);
  }

  /**
   * Adds a dependency that is checked with the database (and cached with it): when it does not answer, /health
   * says `degraded` and names it in `missing`, but readiness still follows the database alone (see ready()).
   */
  addDependency(name: string, check: () => Promise<boolean>): void {
    this.dependencyChecks.set(name, check);
  }

  /**
   * Ready: the database answers and the process is not draining. Redis is reported but does not decide: without
   * it Parley degrades (limits count per process, cookie sessions wait, live fan-out across processes pauses) and
   * still serves, and a load balancer that pulled every instance at once over a Redis outage would stop it all.
   */
  async ready(): Promise<{ ready: boolean; checks: Record<string, boolean> }> {
    // Draining is this process's own state: always current, never cached.
    const checks: Record<string, boolean> = { draining: this.deps.isDraining(), ...(await this.dependencies()) };
    return { ready: !checks.draining && checks.database === true, checks };
  }

  private dependencies(): Promise<DependencyChecks> {
    if (this.last && Date.now() - this.last.at < this.deps.cacheMs) return Promise.resolve(this.last.checks);
    this.inFlight ??= this.check()
      .then((checks) => {
        this.last = { at: Date.now(), checks };
        return checks;
      })
      .finally(() => {
        this.inFlight = undefined;
      });
    return this.inFlight;
  }

  private async check(): Promise<DependencyChecks> {
    const checks: DependencyChecks = { database: await this.deps.db.ping() };
    if (this.deps.redis) checks.redis = await pingRedis(this.deps.redis);
    for (const [name, check] of this.dependencyChecks) checks[name] = await check().catch(() => false);
    return checks;
  }

  async report(): Promise<{ ok: boolean; body: Record<string, unknown> }> {
    const { ready, checks } = await this.ready();
    const missing = Object.entries(checks)
      .filter(([name, up]) => name !== 'draining' && !up)
      .map(([name]) => name);
    const status = checks.draining ? 'draining' : missing.length > 0 ? 'degraded' : 'ok';
    return { ok: ready, body: { status, ...(missing.length > 0 ? { missing } : {}), ...this.sections() } };
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
