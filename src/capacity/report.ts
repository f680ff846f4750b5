// Renders a capacity plan and the two sizing tables as Markdown text for `npm run plan` (and the README).
import type { CapacityPlan, PlanInput, PlanLine } from './plan.js';
import { planCapacity, processesDuringReload } from './plan.js';
import { recommendForTraffic, SERVER_SIZES, TRAFFIC_LEVELS, type TrafficAssumptions } from './traffic-sizing.js';

export function table(header: string[], rows: Array<Array<string | number>>): string {
  const line = (cells: Array<string | number>) => `| ${cells.join(' | ')} |`;
  return [line(header), line(header.map(() => '---')), ...rows.map(line)].join('\n');
}

const gb = (mb: number) => `${Math.round((mb / 1024) * 10) / 10} GB`;

export function planTable(plan: CapacityPlan): string {
  const rows: Array<[string, string, PlanLine]> = [
    ['instances', 'PM2 instances (cluster mode)', plan.instances],
    ['MEMORY_PER_INSTANCE', 'memory share per instance (MB)', plan.memoryPerInstanceMb],
    ['MEMORY_THRESHOLD_MB', 'app guard warns above (RSS, MB)', plan.memoryWarnMb],
    ['MEMORY_RESTART_MB', 'app guard drains and restarts above (RSS, MB)', plan.memoryGuardRestartMb],
    ['max_memory_restart', 'PM2 backstop (RSS, MB)', plan.maxMemoryRestartMb],
    ['--max-old-space-size', 'V8 heap limit (MB)', plan.heapLimitMb],
    ['DB_POOL_MAX', 'PostgreSQL connections per instance', plan.dbPoolMax],
    ['DB_READ_POOL_MAX', 'connections per instance to each replica', plan.dbReadPoolMax],
    ['WORKER_THREADS', 'worker threads per instance', plan.workerThreads],
    ['MAX_CONNECTIONS', 'sockets per instance', plan.maxConnections],
    ...(plan.jobs
      ? ([
          ['parley-jobs instances', 'jobs app processes per host (fork mode)', plan.jobs.instances],
          ['JOBS_CONCURRENCY', 'deliveries in flight per jobs process', plan.jobs.concurrency],
          ['jobs DB_POOL_MAX', 'PostgreSQL connections per jobs process', plan.jobs.dbPoolMax],
          ['jobs max_memory_restart', 'PM2 backstop of the jobs app (RSS, MB)', plan.jobs.maxMemoryRestartMb],
        ] as Array<[string, string, PlanLine]>)
      : []),
  ];
  return table(
    ['setting', 'meaning', 'value', 'why'],
    rows.map(([name, meaning, line]) => [name, meaning, line.value, line.reason]),
  );
}

export function serverSizeTable(dbMaxConnections: number, hosts: number): string {
  return table(
    [
      'server',
      'instances',
      'share/instance',
      'guard warn / restart',
      'max_memory_restart',
      'heap limit',
      'DB_POOL_MAX',
      'threads',
    ],
    SERVER_SIZES.map((size) => {
      const plan = planCapacity({ cores: size.cores, memoryMb: size.memoryMb, dbMaxConnections, hosts });
      return [
        `${size.cores} cores / ${gb(size.memoryMb)}`,
        plan.instances.value,
        `${plan.memoryPerInstanceMb.value} MB`,
        `${plan.memoryWarnMb.value} / ${plan.memoryGuardRestartMb.value} MB`,
        `${plan.maxMemoryRestartMb.value}M`,
        `${plan.heapLimitMb.value} MB`,
        plan.problems.length > 0 ? `${plan.dbPoolMax.value} (too few)` : plan.dbPoolMax.value,
        plan.workerThreads.value,
      ];
    }),
  );
}

export function trafficTable(assumptions: TrafficAssumptions): string {
  return table(
    [
      'concurrent users',
      'peak API req/s',
      'cores needed',
      'memory needed/host',
      'recommended',
      'instances/host',
      'DB_POOL_MAX',
      'DB connections total',
    ],
    TRAFFIC_LEVELS.map((users) => {
      const r = recommendForTraffic(users, assumptions);
      const connections = processesDuringReload(r.hosts, r.plan.instances.value) * r.plan.dbPoolMax.value;
      return [
        users.toLocaleString('en-US'),
        r.peakRequestsPerSec,
        r.coresNeeded,
        gb(r.memoryNeededMb),
        `${r.hosts} x ${r.size.cores} cores / ${gb(r.size.memoryMb)}`,
        r.plan.instances.value,
        r.plan.dbPoolMax.value < 1 ? '0: raise DB_MAX_CONNECTIONS or use PgBouncer' : r.plan.dbPoolMax.value,
        connections,
      ];
    }),
  );
}

export function fullReport(input: PlanInput, assumptions: TrafficAssumptions): string {
  const plan = planCapacity(input);
  const parts = [
    `## Plan for ${input.cores} cores, ${input.memoryMb} MB (${input.memorySource ?? 'given'}), ${input.hosts} host(s), DB_MAX_CONNECTIONS=${input.dbMaxConnections}`,
    planTable(plan),
  ];
  if (plan.problems.length > 0) parts.push(`Problems:\n${plan.problems.map((problem) => `- ${problem}`).join('\n')}`);
  parts.push(
    `## Recommended specifications by traffic level`,
    `Assumptions: ${assumptions.requestsPerCorePerSec} authenticated req/s per core (test/bench/http.ts), ` +
      `${assumptions.requestsPerUserPerMin} API requests per user per minute, ${assumptions.socketKb} KB per socket, ` +
      `${assumptions.instanceBaseMb} MB per idle instance, cores at most ${Math.round(assumptions.targetUtilisation * 100)}% busy at peak, ` +
      `DB_MAX_CONNECTIONS=${assumptions.dbMaxConnections}.`,
    trafficTable(assumptions),
    `## Pool settings by server size (DB_MAX_CONNECTIONS=${input.dbMaxConnections}, ${input.hosts} host(s))`,
    serverSizeTable(input.dbMaxConnections, input.hosts),
  );
  return parts.join('\n\n');
}
