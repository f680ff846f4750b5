// PM2 ecosystem: `parley`, serving the API and chat in cluster mode, and `parley-jobs`, the background jobs (fork
// mode; left out without Redis or with JOBS_APP=false). Every number comes from the capacity plan
// (src/capacity/plan.ts, compiled to dist/), computed for this machine when PM2 reads this file, so `npm run build`
// must run first (the npm scripts do). `npm run plan` prints the same plan with its reasons.
// This package is "type": "module": PM2 7 accepts only `export const apps` here (module.exports and export
// default both fail).
import { fileURLToPath } from 'node:url';
import { loadDeploymentSettings } from './dist/config.js';
import { planThisMachine } from './dist/capacity/this-machine.js';

// With process.env config.ts's loadDeploymentSettings (the one schema for these variables) reads MAX_WORKERS,
// MEMORY_LIMIT_MB, DB_MAX_CONNECTIONS, DB_RESERVED_CONNECTIONS, DEPLOY_HOSTS, SHUTDOWN_TIMEOUT_MS, APP_DIR and
// whether DATABASE_URL is set.
const settings = loadDeploymentSettings(process.env);
// The jobs app needs the queue (Redis); without it, or with JOBS_APP=false, it is left out.
const withJobs = settings.withJobs;
const plan = planThisMachine({
  memoryLimitMb: settings.memoryLimitMb,
  maxWorkers: settings.maxWorkers,
  dbMaxConnections: settings.dbMaxConnections,
  dbReservedConnections: settings.dbReservedConnections,
  hosts: settings.hosts,
  replicaMaxConnections: settings.replicaMaxConnections,
  withJobs,
});
if (plan.problems.length > 0) throw new Error(`capacity plan is unsafe:\n- ${plan.problems.join('\n- ')}`);
// The embedded PGlite database (no DATABASE_URL) serves a single process: several instances would share its files.
if (settings.embeddedDatabase)
  throw new Error('cluster mode needs DATABASE_URL (the embedded database serves one process: use npm start)');

// The app's drain deadline is shorter than kill_timeout, so PM2's SIGKILL never cuts a shutdown in progress.
const KILL_MARGIN_MS = 1_000;

/** Per-instance values from the plan, the same in every environment. */
const sized = {
  DB_POOL_MAX: String(plan.dbPoolMax.value),
  DB_READ_POOL_MAX: String(plan.dbReadPoolMax.value),
  MEMORY_THRESHOLD_MB: String(plan.memoryWarnMb.value),
  MEMORY_RESTART_MB: String(plan.memoryGuardRestartMb.value),
  // The app derives its worker threads from the same plan function (instances x threads within the cores).
  INSTANCE_COUNT: String(plan.instances.value),
  SHUTDOWN_TIMEOUT_MS: String(settings.shutdownTimeoutMs),
  // Sockets per process; the alert rules (npm run plan -- --alerts) fire at 80% of it.
  MAX_CONNECTIONS: String(plan.maxConnections.value),
};

/** The same lifecycle for both apps. */
const lifecycle = {
  // Traffic reaches a worker after it sends 'ready' (database and Redis answered, server listening).
  wait_ready: true,
  listen_timeout: 15_000,
  kill_timeout: settings.shutdownTimeoutMs + KILL_MARGIN_MS,
  // Crash recovery: restart at once, back off exponentially while a process keeps failing; one that dies within
  // min_uptime counts towards max_restarts, after which PM2 stops trying and the alert is the log.
  autorestart: true,
  min_uptime: '10s',
  max_restarts: 15,
  exp_backoff_restart_delay: 200,
  // EX_CONFIG: a bad environment does not fix itself by restarting; the message is in the app's error log.
  stop_exit_codes: [78],
  // pino writes JSON lines with their own time; a PM2 date prefix would break them.
  merge_logs: true,
  // Metrics for pm2 monit come from the apps (src/ops/pm2-metrics.ts via tx2). PM2's injected @pm2/io would also
  // wrap every HTTP request, and its req/min read 477 where the app counted 78,002 in the same minute.
  pmx: false,
};

// Background jobs (src/jobs/, docs/jobs.md): offline-notification webhooks and exports, off the API's event loop.
// Fork mode, its own memory marks, pool and concurrency from the plan; SIGINT lets running jobs finish within
// SHUTDOWN_TIMEOUT_MS and leaves the rest to BullMQ's stalled-job recovery (their rows stay in PostgreSQL).
const jobsSized = plan.jobs && {
  DB_POOL_MAX: String(plan.jobs.dbPoolMax.value),
  JOBS_CONCURRENCY: String(plan.jobs.concurrency.value),
  MEMORY_THRESHOLD_MB: String(plan.jobs.memoryWarnMb.value),
  MEMORY_RESTART_MB: String(plan.jobs.memoryGuardRestartMb.value),
  // One compressing thread for exports, at lower priority than the API's processes.
  PISCINA_MAX_THREADS: '1',
  SHUTDOWN_TIMEOUT_MS: String(settings.shutdownTimeoutMs),
};
const jobsApp = plan.jobs && {
  name: 'parley-jobs',
  cwd: settings.appDir ?? fileURLToPath(new URL('.', import.meta.url)),
  script: 'dist/jobs/main.js',
  exec_mode: 'fork',
  instances: plan.jobs.instances.value,
  node_args: [`--max-old-space-size=${plan.jobs.heapLimitMb.value}`],
  max_memory_restart: `${plan.jobs.maxMemoryRestartMb.value}M`,
  ...lifecycle,
  env: { NODE_ENV: 'development', ...jobsSized },
  env_production: { NODE_ENV: 'production', ENABLE_MEMORY_MONITORING: 'true', ...jobsSized },
};

export const apps = [
  {
    name: 'parley',
    // APP_DIR, when set, is a `current` symlink: PM2 keeps cwd across reloads, so a release switch needs the link.
    cwd: settings.appDir ?? fileURLToPath(new URL('.', import.meta.url)),
    script: 'dist/main.js',
    exec_mode: 'cluster',
    instances: plan.instances.value,

    // Memory, in order: app guard (MEMORY_RESTART_MB, checked every few seconds) < PM2 backstop (checked every
    // 30 s) < V8 heap limit (hitting it aborts the worker instead of draining it).
    node_args: [`--max-old-space-size=${plan.heapLimitMb.value}`],
    max_memory_restart: `${plan.maxMemoryRestartMb.value}M`,

    ...lifecycle,

    env: { NODE_ENV: 'development', ...sized },
    env_production: { NODE_ENV: 'production', ENABLE_MEMORY_MONITORING: 'true', ...sized },
  },
  ...(jobsApp ? [jobsApp] : []),
];
