// Capacity planning: how many PM2 instances, how much memory each may use, how many database connections and
// worker threads each gets. Pure arithmetic over plain inputs, written once: the ecosystem file, `npm run plan`
// and the app all call these functions, so no number is copied by hand. Reading the machine lives in machine.ts.

const MB = 1;
const GB = 1024 * MB;

/** Memory kept for the OS, the PM2 daemon and page cache: 10% of the machine, at least 256 MB. */
export const RESERVE_FRACTION = 0.1;
export const MIN_RESERVE_MB = 256;
/** Below this an instance cannot hold Node, the pools and a useful heap. */
export const MIN_INSTANCE_MEMORY_MB = 128;

/**
 * The order that matters (measured: PM2 checks `max_memory_restart` only every 30 s and a heap limit below it
 * aborts the worker with SIGABRT): warn < app guard restart < PM2 backstop < V8 heap limit.
 */
export const WARN_FRACTION = 0.7;
export const GUARD_RESTART_FRACTION = 0.85;
export const PM2_RESTART_FRACTION = 1.0;
export const HEAP_LIMIT_FRACTION = 1.15;

/** Connections kept back from the deployment's budget for migrations, psql and monitoring. */
export const DEFAULT_DB_RESERVED_CONNECTIONS = 5;

/** Instances for one host: MAX_WORKERS when given, never more than the cores (more only adds context switches). */
export function instanceCount(cores: number, maxWorkers?: number): number {
  const usable = Math.max(1, Math.floor(cores));
  if (maxWorkers === undefined || maxWorkers <= 0) return usable;
  return Math.min(Math.floor(maxWorkers), usable);
}

/**
 * Worker threads for each process: instances x threads must stay within the cores, because CPU-bound threads
 * beyond the core count only queue for the CPU and add context switches (Piscina's default of 1.5 x CPUs per
 * process multiplies by the PM2 instance count). Never fewer than one, so every process can make progress.
 */
export function workerThreadsPerInstance(cores: number, instances: number): number {
  if (!Number.isInteger(cores) || cores < 1) throw new RangeError(`cores must be a positive integer, got ${cores}`);
  if (!Number.isInteger(instances) || instances < 1)
    throw new RangeError(`instances must be a positive integer, got ${instances}`);
  return Math.max(1, Math.floor(cores / instances));
}

/** Memory the instances may share: the machine's (or container's) memory minus the reserve. */
export function reserveMb(memoryMb: number): number {
  return Math.max(MIN_RESERVE_MB, Math.round(memoryMb * RESERVE_FRACTION));
}

export interface MemoryMarks {
  /** The share of memory each instance may use; PM2's `max_memory_restart` backstop sits here. */
  budgetMb: number;
  /** The app logs a warning above this RSS (MEMORY_THRESHOLD_MB). */
  warnMb: number;
  /** The app drains and exits above this RSS, so PM2 restarts it gracefully (MEMORY_RESTART_MB). */
  guardRestartMb: number;
  /** PM2's `max_memory_restart`, checked every 30 s: the backstop when the app's guard cannot act. */
  pm2RestartMb: number;
  /** V8's `--max-old-space-size`: above everything else, so the heap never aborts before a graceful restart. */
  heapLimitMb: number;
}

export function memoryMarks(memoryMb: number, instances: number): MemoryMarks {
  const budgetMb = Math.floor((memoryMb - reserveMb(memoryMb)) / Math.max(1, instances));
  return marksForBudget(budgetMb);
}

export function marksForBudget(budgetMb: number): MemoryMarks {
  return {
    budgetMb,
    warnMb: Math.floor(budgetMb * WARN_FRACTION),
    guardRestartMb: Math.floor(budgetMb * GUARD_RESTART_FRACTION),
    pm2RestartMb: Math.floor(budgetMb * PM2_RESTART_FRACTION),
    heapLimitMb: Math.floor(budgetMb * HEAP_LIMIT_FRACTION),
  };
}

/**
 * Marks the memory guard (ops/memory-guard.ts) can actually act on: RSS always exceeds the heap in use, so a
 * restart mark below the heap limit fires before V8 runs out of heap. Marks configured above it are lowered, and the
 * caller logs that they were.
 */
export function effectiveMarks(warnMb: number, restartMb: number, heapLimitMb: number) {
  const ceiling = Math.floor(heapLimitMb * 0.9);
  const restart = Math.min(restartMb, ceiling);
  // A warning mark left at or above a lowered restart mark would never fire first.
  const warn = warnMb < restart ? warnMb : Math.floor(restart * 0.8);
  return { warnMb: warn, restartMb: restart, lowered: restart !== restartMb || warn !== warnMb };
}

/** Memory one connected socket costs (socket.io + session state), as the plan assumes. */
export const SOCKET_KB = 50;
/** RSS an idle instance's main thread holds: 151 MB measured with its two first worker threads, on Node 24. */
export const INSTANCE_BASE_MB = 120;
/** RSS one idle worker thread adds (its own V8 isolate and its task's modules): 17-21 MB measured, on Node 24. */
export const WORKER_THREAD_MB = 20;

/**
 * Memory an idle instance holds once its pools have grown to their size: the main thread, `workerThreads` threads
 * in the CPU pool and as many upload threads (UPLOAD_THREADS defaults to the same count).
 */
export const idleInstanceMb = (workerThreads: number): number =>
  INSTANCE_BASE_MB + 2 * workerThreads * WORKER_THREAD_MB;

/** File descriptors kept for everything but sockets: pools, Redis, logs, keep-alive HTTP clients, worker threads. */
export const FD_RESERVE = 1024;

/**
 * MAX_CONNECTIONS, the sockets one process accepts: as many as fit between an idle instance and the memory guard's
 * warning mark, so a socket flood is refused (and alerted on) before the guard starts restarting workers; and no
 * more than the open-files limit leaves after FD_RESERVE, so accept() never fails with EMFILE.
 */
export function socketCapPerInstance(warnMb: number, workerThreads: number, openFilesLimit?: number): number {
  const byMemory = Math.floor(((warnMb - idleInstanceMb(workerThreads)) * 1024) / SOCKET_KB);
  const byFiles = openFilesLimit === undefined ? Infinity : openFilesLimit - FD_RESERVE;
  return Math.max(1, Math.min(byMemory, byFiles));
}

export interface DbBudget {
  /** Connections the whole deployment may open on one database server (DB_MAX_CONNECTIONS). */
  maxConnections: number;
  /** Kept back for migrations, psql and monitoring. */
  reserved: number;
  /** Hosts running this ecosystem (DEPLOY_HOSTS). */
  hosts: number;
  instancesPerHost: number;
}

/**
 * Processes of the whole deployment at the peak of a rolling `pm2 reload`: it starts the new worker before the old
 * one exits, so each host briefly runs one process more than its instance count.
 */
export const processesDuringReload = (hosts: number, instancesPerHost: number): number =>
  hosts * (instancesPerHost + 1);

/** Pool size per instance, counting the reload's extra process so the deployment stays within the database's limit. */
export function dbPoolMaxPerInstance(budget: DbBudget): number {
  return Math.floor(
    (budget.maxConnections - budget.reserved) / processesDuringReload(budget.hosts, budget.instancesPerHost),
  );
}

export interface PlanInput {
  cores: number;
  memoryMb: number;
  /** Where memoryMb came from, for the reason column. */
  memorySource?: string;
  maxWorkers?: number;
  dbMaxConnections: number;
  dbReservedConnections?: number;
  hosts: number;
  /** `ulimit -n` of the processes (machine.ts detectOpenFilesLimit); unlimited when not given. */
  openFilesLimit?: number;
  /** The parley-jobs app runs beside the API on each host: its memory and connections come off the API's share. */
  withJobs?: boolean;
  /**
   * Connections each replica server accepts (its own max_connections, DB_REPLICA_MAX_CONNECTIONS): every process
   * opens a pool of up to DB_READ_POOL_MAX on each replica, so replicas have their own budget, not the primary's.
   */
  replicaMaxConnections?: number;
}

export interface PlanLine<T = number> {
  value: T;
  reason: string;
}

export interface CapacityPlan {
  instances: PlanLine;
  memoryPerInstanceMb: PlanLine;
  memoryWarnMb: PlanLine;
  memoryGuardRestartMb: PlanLine;
  maxMemoryRestartMb: PlanLine;
  heapLimitMb: PlanLine;
  dbPoolMax: PlanLine;
  /** Connections per replica pool per instance (DB_READ_POOL_MAX), against each replica's own budget. */
  dbReadPoolMax: PlanLine;
  workerThreads: PlanLine;
  maxConnections: PlanLine;
  /** The parley-jobs app (src/jobs/), when planned with `withJobs`. */
  jobs?: JobsPlan;
  /** Problems that make the plan unsafe to run (e.g. too little memory or too few connections). */
  problems: string[];
}

export function planCapacity(input: PlanInput): CapacityPlan {
  const instances = instanceCount(input.cores, input.maxWorkers);
  const jobs = input.withJobs ? planJobs(input.hosts) : undefined;
  const marks = memoryMarks(input.memoryMb - (jobs ? jobs.memoryMb.value * JOBS_INSTANCES_PER_HOST : 0), instances);
  // The jobs processes' pools come off the deployment's budget first (fork mode: no extra process during a reload).
  const reserved = input.dbReservedConnections ?? DEFAULT_DB_RESERVED_CONNECTIONS;
  const jobsConnections = jobs ? jobs.dbPoolMax.value * jobs.instances.value * input.hosts : 0;
  const poolMax = dbPoolMaxPerInstance({
    maxConnections: input.dbMaxConnections - jobsConnections,
    reserved,
    hosts: input.hosts,
    instancesPerHost: instances,
  });
  const replicaMax = input.replicaMaxConnections ?? input.dbMaxConnections;
  const readPoolMax = dbPoolMaxPerInstance({
    maxConnections: replicaMax,
    reserved,
    hosts: input.hosts,
    instancesPerHost: instances,
  });
  const threads = workerThreadsPerInstance(input.cores, instances);
  const problems: string[] = [];
  if (marks.budgetMb < MIN_INSTANCE_MEMORY_MB)
    problems.push(
      `each instance would get ${marks.budgetMb} MB (< ${MIN_INSTANCE_MEMORY_MB} MB): lower MAX_WORKERS or add memory`,
    );
  if (poolMax < 1)
    problems.push(
      `DB_MAX_CONNECTIONS=${input.dbMaxConnections} cannot give every process one connection: raise it or lower MAX_WORKERS/DEPLOY_HOSTS`,
    );
  if (readPoolMax < 1)
    problems.push(
      `DB_REPLICA_MAX_CONNECTIONS=${replicaMax} cannot give every process one replica connection: raise it or lower MAX_WORKERS/DEPLOY_HOSTS`,
    );
  const processes = processesDuringReload(input.hosts, instances);
  return {
    instances: {
      value: instances,
      reason:
        input.maxWorkers && input.maxWorkers > 0
          ? `MAX_WORKERS=${input.maxWorkers}, capped at ${input.cores} cores`
          : `one per core (${input.cores} cores)`,
    },
    memoryPerInstanceMb: {
      value: marks.budgetMb,
      reason: `(${input.memoryMb} MB ${input.memorySource ?? 'memory'}${jobs ? ` - ${jobs.memoryMb.value} MB jobs app` : ''} - ${reserveMb(input.memoryMb - (jobs?.memoryMb.value ?? 0))} MB reserve) / ${instances}`,
    },
    memoryWarnMb: { value: marks.warnMb, reason: `${pct(WARN_FRACTION)} of the share: app logs a warning` },
    memoryGuardRestartMb: {
      value: marks.guardRestartMb,
      reason: `${pct(GUARD_RESTART_FRACTION)} of the share: app guard drains and exits (checked every few seconds)`,
    },
    maxMemoryRestartMb: {
      value: marks.pm2RestartMb,
      reason: `${pct(PM2_RESTART_FRACTION)} of the share: PM2 backstop (checked only every 30 s)`,
    },
    heapLimitMb: {
      value: marks.heapLimitMb,
      reason: `${pct(HEAP_LIMIT_FRACTION)} of the share: above both restarts, so V8 never aborts first`,
    },
    dbPoolMax: {
      value: Math.max(poolMax, 0),
      reason: `(${input.dbMaxConnections} DB_MAX_CONNECTIONS - ${reserved} reserved${jobs ? ` - ${jobsConnections} jobs app` : ''}) / (${input.hosts} host(s) x (${instances} + 1 during reload)) = ${processes} processes`,
    },
    dbReadPoolMax: {
      value: Math.max(readPoolMax, 0),
      reason: `per replica: (${replicaMax} DB_REPLICA_MAX_CONNECTIONS - ${reserved} reserved) / ${processes} processes (each replica is its own server)`,
    },
    workerThreads: { value: threads, reason: `${input.cores} cores / ${instances} instances, at least 1` },
    maxConnections: {
      value: socketCapPerInstance(marks.warnMb, threads, input.openFilesLimit),
      reason:
        `min((${marks.warnMb} MB warning mark - ${idleInstanceMb(threads)} MB idle instance: ${INSTANCE_BASE_MB} MB + ` +
        `2 x ${threads} thread(s) x ${WORKER_THREAD_MB} MB) / ${SOCKET_KB} KB per socket` +
        `, ${input.openFilesLimit === undefined ? 'no open-files limit given' : `ulimit -n ${input.openFilesLimit} - ${FD_RESERVE} reserved`})`,
    },
    ...(jobs ? { jobs } : {}),
    problems,
  };
}

/** One jobs process per host: its work waits on the network (webhooks) or one compressing thread (exports). */
export const JOBS_INSTANCES_PER_HOST = 1;
/** Its memory budget: BullMQ, a keep-alive agent, one export's pages in flight; measured well under 150 MB RSS. */
export const JOBS_MEMORY_MB = 256;
/** Database connections per jobs process: each delivery holds one for a few short statements, not while it POSTs. */
export const JOBS_DB_POOL_MAX = 4;
/** Deliveries in flight per connection: a POST takes ~100x longer than the statements around it. */
export const JOBS_DELIVERIES_PER_CONNECTION = 8;

export interface JobsPlan {
  instances: PlanLine;
  concurrency: PlanLine;
  dbPoolMax: PlanLine;
  memoryMb: PlanLine;
  memoryWarnMb: PlanLine;
  memoryGuardRestartMb: PlanLine;
  maxMemoryRestartMb: PlanLine;
  heapLimitMb: PlanLine;
}

export function planJobs(hosts: number): JobsPlan {
  const marks = marksForBudget(JOBS_MEMORY_MB);
  return {
    instances: {
      value: JOBS_INSTANCES_PER_HOST,
      reason: `one per host (${hosts} host(s)), fork mode: I/O-bound work, BullMQ shares jobs between hosts`,
    },
    concurrency: {
      value: JOBS_DB_POOL_MAX * JOBS_DELIVERIES_PER_CONNECTION,
      reason: `${JOBS_DB_POOL_MAX} connections x ${JOBS_DELIVERIES_PER_CONNECTION} deliveries each (a delivery holds a connection only between POSTs)`,
    },
    dbPoolMax: { value: JOBS_DB_POOL_MAX, reason: "taken off the API pools' budget before they are divided" },
    memoryMb: { value: marks.budgetMb, reason: `fixed budget for the jobs process, taken off the API's share` },
    memoryWarnMb: { value: marks.warnMb, reason: `${pct(WARN_FRACTION)} of the jobs budget` },
    memoryGuardRestartMb: { value: marks.guardRestartMb, reason: `${pct(GUARD_RESTART_FRACTION)} of the jobs budget` },
    maxMemoryRestartMb: {
      value: marks.pm2RestartMb,
      reason: `${pct(PM2_RESTART_FRACTION)} of the jobs budget: PM2 backstop`,
    },
    heapLimitMb: {
      value: marks.heapLimitMb,
      reason: `${pct(HEAP_LIMIT_FRACTION)} of the jobs budget: above PM2's restart`,
    },
  };
}

/** Parses "16G", "512M", "2048" (MB) or "1.5g" into megabytes. */
export function parseMemoryMb(text: string): number {
  const match = /^(\d+(?:\.\d+)?)\s*([kmgt]?)i?b?$/i.exec(text.trim());
  if (!match) throw new Error(`cannot read a memory size from "${text}" (try 16G or 512M)`);
  const factor = { k: 1 / 1024, m: 1, '': 1, g: GB, t: 1024 * GB }[match[2]!.toLowerCase()]!;
  return Math.round(Number(match[1]) * factor);
}

const pct = (fraction: number) => `${Math.round(fraction * 100)}%`;
