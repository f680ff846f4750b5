// The only reader of process.env. Parses and validates the environment once, at start, and hands out a frozen
// object; a bad variable stops the process with a message naming it.
import os from 'node:os';
import { z } from 'zod';
import { DEFAULT_DB_RESERVED_CONNECTIONS } from './capacity/plan.js';
import { processSizes, type ProcessSizes } from './capacity/this-machine.js';

const DEV_SECRET = 'parley-development-secret-not-for-production-use';
const MIN_PRODUCTION_SECRET_LENGTH = 32;

const int = (fallback: number, min = 0) => z.coerce.number().int().min(min).default(fallback);
const bool = (fallback: boolean) =>
  z
    .enum(['true', 'false', '1', '0', 'yes', 'no'])
    .default(fallback ? 'true' : 'false')
    .transform((value) => value === 'true' || value === '1' || value === 'yes');
const optionalUrl = z
  .string()
  .trim()
  .transform((value) => (value === '' ? undefined : value))
  .pipe(z.url().optional())
  .optional();
const listWithDefault = (fallback: string) =>
  z
    .string()
    .default(fallback)
    .transform((value) =>
      value
        .split(',')
        .map((item) => item.trim())
        .filter(Boolean),
    );
const list = listWithDefault('');
// Sizes like "100kb", "1mb" or a plain byte count, as co-body and socket.io take them.
const byteSize = (fallback: string) =>
  z
    .string()
    .default(fallback)
    .transform((value, ctx) => {
      const match = /^(\d+)\s*(b|kb|mb)?$/i.exec(value.trim());
      if (!match) {
        ctx.addIssue({ code: 'custom', message: 'expected a size such as 100kb, 1mb or 4096' });
        return z.NEVER;
      }
      const unit = (match[2] ?? 'b').toLowerCase();
      return Number(match[1]) * (unit === 'mb' ? 1024 * 1024 : unit === 'kb' ? 1024 : 1);
    });

// Durations like "90s", "30m", "24h", "7d", "500ms" or a plain number of seconds.
const duration = (fallback: string) =>
  z
    .string()
    .default(fallback)
    .transform((value, ctx) => {
      const match = /^(\d+)\s*(ms|s|m|h|d)?$/i.exec(value.trim());
      if (!match) {
        ctx.addIssue({ code: 'custom', message: 'expected a duration such as 90s, 30m, 24h or 7d' });
        return z.NEVER;
      }
      const unit = (match[2] ?? 's').toLowerCase() as 'ms' | 's' | 'm' | 'h' | 'd';
      return Number(match[1]) * { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 }[unit];
    });

// Read by the app and by the ecosystem file / `npm run plan` alike: one definition, one default.
const sharedWithDeployment = {
  MEMORY_LIMIT_MB: z.coerce.number().int().min(1).optional(),
  SHUTDOWN_TIMEOUT_MS: int(4_000, 100),
};

const schema = z.object({
  ...sharedWithDeployment,
  NODE_ENV: z.enum(['development', 'production', 'test']).default('development'),
  PORT: int(3000),
  HOST: z.string().default('0.0.0.0'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  // Log lines are written to stdout in batches of this many bytes (0: each line at once), and at least every
  // LOG_FLUSH_MS: one write system call per access-log line cost a busy process a sixth of its CPU.
  // At most 16383: a batch is held in memory until it is written; 4 KB already makes one write of ~20 lines.
  LOG_BUFFER_BYTES: int(4096).pipe(z.number().max(16_383)),
  LOG_FLUSH_MS: int(100, 1),
  INSTANCE_ID: z.string().optional(),
  NODE_APP_INSTANCE: z.string().optional(),

  DATABASE_URL: optionalUrl,
  DATABASE_REPLICA_URLS: list,
  DB_POOL_MAX: int(10, 1),
  DB_POOL_MIN: int(0),
  DB_IDLE_TIMEOUT_MS: int(10_000),
  DB_CONNECT_TIMEOUT_MS: int(5_000, 1),
  DB_STATEMENT_TIMEOUT_MS: int(10_000, 1),
  PGLITE_DIR: z.string().default('.data/pglite'),
  // Read path (README: Database, Replicas and the history cache; src/db/replicas.ts, src/services/history-cache.ts).
  // DB_READ_POOL_MAX defaults to DB_POOL_MAX; the ecosystem file passes the capacity plan's value.
  DB_READ_POOL_MAX: z.coerce.number().int().min(1).optional(),
  DB_REPLICA_MAX_LAG_MS: int(5_000, 1),
  DB_REPLICA_CHECK_INTERVAL_MS: int(1_000, 10),
  HISTORY_CACHE_CONVERSATIONS: int(1_000),
  HISTORY_CACHE_MESSAGES: int(200, 1),
  HISTORY_CACHE_MAX_AGE_MS: int(60_000, 1),
  // Group commit of sends (src/services/send-batcher.ts; README: Real-time, Sending).
  SEND_BATCH_MAX: int(100, 1),
  SEND_BATCH_CONCURRENCY: int(1, 1),
  SEND_BATCH_WAIT_MS: int(0),
  // Sends waiting for the database per process; beyond it a send is refused with 503 overloaded (memory stays bounded
  // when PostgreSQL falls behind, and clients retry with the same clientMsgId).
  SEND_QUEUE_MAX: int(5_000, 1),

  REDIS_URL: optionalUrl,
  REDIS_PREFIX: z.string().default('parley:'),
  // Redis behind Sentinel (host:port,host:port): Parley asks the sentinels for the master of REDIS_SENTINEL_NAME
  // and follows a failover without a restart. Takes the place of REDIS_URL.
  REDIS_SENTINELS: list.pipe(z.array(z.string().regex(/^[^:\s]+:\d{1,5}$/, 'expected host:port entries'))),
  REDIS_SENTINEL_NAME: z.string().default('mymaster'),

  JWT_SECRET: z.string().optional(),
  SESSION_SECRET: z.string().optional(),
  ACCESS_TOKEN_TTL_SEC: int(900, 1),
  ACCESS_TOKEN_CACHE_SIZE: int(10_000),
  REFRESH_TOKEN_TTL_DAYS: int(30, 1),
  SESSION_TTL_HOURS: int(24 * 7, 1),
  SESSION_COOKIE_SECURE: z.enum(['true', 'false']).optional(),
  PASSWORD_HASH_COST: int(15, 10),
  // How often each process reads the sign-ins revoked elsewhere (logout, refresh-token reuse) from the database.
  REVOCATION_POLL_MS: int(250, 50),
  // Bearer token that unlocks /health's detail (pid, memory, versions); without it /health answers its status only.
  HEALTH_DETAIL_TOKEN: z.string().optional(),
  // How long a readiness answer is reused: probes in parallel share one database ping instead of one each.
  HEALTH_CACHE_MS: int(1_000),

  CORS_ORIGIN: list,
  TRUST_PROXY: int(0),
  BODY_LIMIT: byteSize('100kb'),
  HTTP_HEADERS_TIMEOUT_MS: int(10_000, 1),
  HTTP_REQUEST_TIMEOUT_MS: int(30_000, 1),
  HTTP_KEEP_ALIVE_TIMEOUT_MS: int(5_000, 1),

  RATE_LIMIT_AUTH_PER_MIN: int(20, 1),
  RATE_LIMIT_API_PER_MIN: int(600, 1),

  EXPOSE_ERRORS: bool(false),

  // Worker-thread pool (cpu/). Threads default to the capacity plan: cores / INSTANCE_COUNT.
  INSTANCE_COUNT: int(1, 1),
  PISCINA_MAX_THREADS: z.coerce.number().int().min(1).optional(),
  // Queued tasks beyond the running ones. At production hash cost (~0.2 s per hash on a shared 2-core box) 16
  // queued logins wait under 2 s; beyond that a quick 503 with Retry-After serves the client better.
  PISCINA_MAX_QUEUE: int(16),
  PISCINA_IDLE_TIMEOUT_MS: int(30_000),
  PISCINA_WORKER_MAX_OLD_MB: int(128, 16),
  PISCINA_CLOSE_TIMEOUT_MS: int(1_000, 1),
  PISCINA_WORKER_NICE: z.coerce.number().int().min(0).max(19).default(10),
  PASSWORD_HASHING: z.enum(['pool', 'inline']).default('pool'),
  EXPORT_PAGE_SIZE: int(1_000, 1),
  // Exports open at once in a process (each holds one pool queue slot at a time); default half of PISCINA_MAX_QUEUE,
  // so password hashing keeps the other half. One user has one export at a time whatever this says.
  EXPORT_MAX_CONCURRENT: z.coerce.number().int().min(1).optional(),
  // Process lifecycle and memory guard (README: Running Parley with PM2). Marks default to this machine's plan for one
  // process; under PM2 the ecosystem file passes the cluster plan's values.
  ENABLE_MEMORY_MONITORING: bool(false),
  MEMORY_MONITOR_INTERVAL: int(60_000, 1_000),
  MEMORY_CHECK_INTERVAL_MS: int(2_000, 100),
  MEMORY_THRESHOLD_MB: z.coerce.number().int().min(1).optional(),
  MEMORY_RESTART_MB: z.coerce.number().int().min(1).optional(),
  // Real-time (socket.io); README: Real-time.
  SOCKET_ADAPTER: z.enum(['redis', 'cluster', 'memory']).optional(),
  SOCKET_MAX_PAYLOAD_BYTES: byteSize('64kb'),
  SOCKET_EVENTS_PER_SEC: int(20, 1),
  SOCKET_EVENTS_BURST: int(40, 1),
  SOCKET_MAX_PER_USER: int(10, 1),
  SOCKET_TRANSPORTS: list.pipe(z.array(z.enum(['websocket', 'polling']))),
  // Time an engine.io connection may take to authenticate (socket.io's CONNECT), and how many such unauthenticated
  // connections one client address may hold at once (README: Security model).
  SOCKET_CONNECT_TIMEOUT_MS: int(10_000, 100),
  SOCKET_PENDING_PER_IP: int(20, 1),
  // Clients told `server:draining` before a reload or shutdown closes their sockets wait a random delay up to this
  // before reconnecting, so a reload does not arrive elsewhere as one reconnect spike.
  SOCKET_RECONNECT_SPREAD_MS: int(3_000),
  // Message announcements kept while Redis is unreachable, sent when it returns (oldest dropped beyond this).
  ANNOUNCE_BACKLOG_MAX: int(10_000),
  SOCKET_CLUSTER_INSTANCES: int(2, 1),
  SOCKET_CLUSTER_GRACE_MS: int(15_000, 1),
  PRESENCE_TTL_SEC: int(10, 2),
  PRESENCE_GRACE_MS: int(2_000),
  // Operator conventions (docs/operations.md): metrics of every PM2 instance in one scrape, the per-process socket
  // cap from the capacity plan, the access log.
  METRICS_PORT_BASE: int(9464),
  METRICS_HOST: z.string().default('127.0.0.1'),
  METRICS_SCRAPE_TIMEOUT_MS: int(1_000, 1),
  MAX_CONNECTIONS: z.coerce.number().int().min(1).optional(),
  ACCESS_LOG: bool(true),
  // Many hosts behind nginx (deploy/DEPLOYMENT.md): with a base set, PM2 instance i also listens on base + i, so
  // nginx can pin a socket.io client to one process (long-polling needs every request of a session there).
  INSTANCE_PORT_BASE: int(0),
  // Web client (src/web, built into dist/web and served at / by src/http/static.ts; README: Web client).
  WEB_CLIENT: bool(true),
  // Editing, deleting, read state, paged lists, search (README: Editing, deleting, read state, search).
  // Seconds after sending during which the sender may edit a message; 0: no limit.
  MESSAGE_EDIT_WINDOW: int(0),
  // The PostgreSQL text-search configuration messages are indexed and searched with; `simple` matches any
  // language word by word. Changing it re-indexes the stored messages at the next start.
  SEARCH_LANGUAGE: z
    .string()
    .regex(/^[a-z_]{1,63}$/, 'must be a text-search configuration name such as simple or english')
    .default('simple'),
  SEARCH_QUERY_MAX_CHARS: int(256, 1),
  SEARCH_PAGE_MAX: int(50, 1),
  CONVERSATIONS_PAGE_MAX: int(200, 1),
  // Conversation rooms a socket joins at its handshake (the most recently active); sync joins the rest it names.
  SOCKET_HANDSHAKE_CONVERSATIONS: int(1_000, 1),
  // Messages, and changes, per sync answer; `more: true` when either is cut.
  SYNC_PAGE_SIZE: int(1_000, 1),
  // Bytes of messages and changes per sync answer (JSON), whatever the count: one sync answered 4.13 MB, and ten in
  // parallel held /health/live for 369 ms. `more: true` when cut; at least one message always goes.
  SYNC_MAX_BYTES: byteSize('512kb'),
  // Syncs per socket: a token bucket, refilled at this rate per second up to the burst; over it, rate_limited.
  SYNC_PER_SEC: int(5, 1),
  SYNC_BURST: int(10, 1),
  // Attachments (docs/attachments.md). The store: `local` (ATTACHMENTS_DIR) unless S3_BUCKET or
  // AZURE_STORAGE_CONNECTION_STRING is set; ATTACHMENT_STORE names it explicitly.
  ATTACHMENT_STORE: z.enum(['local', 's3', 'azure']).optional(),
  // Local store's objects, and every store's uploads being received (incoming/): keep it on a disk with room for
  // the uploads in flight.
  ATTACHMENTS_DIR: z.string().default('.data/attachments'),
  ATTACHMENT_MAX_BYTES: byteSize('10mb'),
  // Content types accepted, as sniffed from the bytes (the client's Content-Type is ignored).
  ATTACHMENT_TYPES: listWithDefault('image/png,image/jpeg,image/gif,image/webp,application/pdf,text/plain'),
  ATTACHMENT_QUOTA_MB: int(1_024, 1),
  // Seconds an upload may stay unattached before the sweep deletes it.
  ATTACHMENT_ORPHAN_TTL: int(86_400, 1),
  // Seconds between a message's deletion (or an orphan's) and the removal of its objects from the store.
  ATTACHMENT_DELETE_GRACE: int(600),
  ATTACHMENT_SWEEP_INTERVAL_MS: int(60_000, 50),
  ATTACHMENT_NAME_MAX_CHARS: int(255, 1),
  // Each store call (put, read, delete, ping) is given up after this and answered 503 overloaded.
  ATTACHMENT_STORE_TIMEOUT_MS: int(15_000, 1),
  // Lifetime of the signed URLs S3 and Azure downloads are redirected to.
  ATTACHMENT_SIGNED_URL_TTL_SEC: int(300, 1),
  ATTACHMENT_THUMBNAIL_PX: int(256, 16),
  // Decoded pixels a thumbnail's source may have; more (a decompression bomb) is refused with 400.
  ATTACHMENT_MAX_INPUT_PIXELS: int(40_000_000, 1),
  // Threads per process that receive uploads (parse, hash, write), beside the CPU pool; default: the plan's
  // worker threads (PISCINA_MAX_THREADS). Each receives up to UPLOAD_STREAMS_PER_THREAD uploads at once; as
  // many again wait their turn, and one more is answered 503 overloaded.
  UPLOAD_THREADS: z.coerce.number().int().min(1).optional(),
  UPLOAD_STREAMS_PER_THREAD: int(16, 1),
  S3_BUCKET: z.string().optional(),
  S3_REGION: z.string().default('us-east-1'),
  S3_ENDPOINT: optionalUrl,
  S3_ACCESS_KEY: z.string().optional(),
  S3_SECRET_KEY: z.string().optional(),
  AZURE_STORAGE_CONNECTION_STRING: z.string().optional(),
  AZURE_STORAGE_CONTAINER: z.string().default('parley-attachments'),
  // Background jobs (src/jobs/, the parley-jobs PM2 app; docs/jobs.md). Offline notifications are on when
  // NOTIFY_WEBHOOK_URL is set; exports as jobs whenever Redis is configured.
  NOTIFY_WEBHOOK_URL: optionalUrl,
  NOTIFY_WEBHOOK_SECRET: z.string().optional(),
  // A member who reads the message or has a live socket anywhere within this long after it was sent gets nothing.
  NOTIFY_DELAY_MS: int(30_000),
  NOTIFY_TIMEOUT_MS: int(5_000, 1),
  // POSTs of one delivery before it is dead-lettered (the first attempt counts).
  NOTIFY_MAX_ATTEMPTS: int(8, 1),
  NOTIFY_BACKOFF_BASE_MS: int(1_000, 1),
  NOTIFY_BACKOFF_MAX_MS: int(300_000, 1),
  // Messages in one delivery at most (several messages for one user within the delay are batched).
  NOTIFY_BATCH_MAX: int(100, 1),
  // Deliveries due together that one queue job carries at most: one round of queue and database work for all of them.
  NOTIFY_DELIVERIES_PER_JOB: int(50, 1),
  // In production, webhook hosts that resolve to loopback, private or link-local addresses are refused (SSRF).
  NOTIFY_ALLOW_PRIVATE: bool(false),
  // Deliveries in flight per jobs process; defaults to the capacity plan's figure (src/capacity/plan.ts).
  JOBS_CONCURRENCY: z.coerce.number().int().min(1).optional(),
  // The relay (src/jobs/relay.ts): how often it moves outbox rows to the queue, how many at a time, and after how
  // long a row it queued and that is still not done is looked up in the queue again (re-queued when Redis lost it).
  JOBS_RELAY_INTERVAL_MS: int(100, 1),
  JOBS_RELAY_BATCH: int(500, 1),
  JOBS_RELAY_RECHECK_MS: int(30_000, 100),
  // BullMQ's job lock: a job whose process died is taken up again once its lock has expired (checked as often).
  JOBS_LOCK_MS: int(30_000, 500),
  // Exports as jobs: where finished files are kept (one host: a local directory), for how long, attempts per export.
  EXPORTS_DIR: z.string().default('.data/exports'),
  EXPORT_TTL: duration('24h'),
  EXPORT_MAX_ATTEMPTS: int(3, 1),
  // Bearer (or Basic password) that opens the queue dashboard at /admin/queues; without it there is no dashboard.
  ADMIN_TOKEN: z.string().optional(),
});

/** Every variable Parley reads; a test checks that .env.example documents each one. */
export const CONFIG_VARIABLES: readonly string[] = Object.keys(schema.shape);

export type Environment = Record<string, string | undefined>;

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((problem) => `  - ${problem}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

/**
 * The public development secret signs tokens anyone can forge, so it is only used with the embedded database (a
 * developer's machine); with a real DATABASE_URL a missing secret stops the start, whatever NODE_ENV says.
 */
function checkSecret(
  name: string,
  value: string | undefined,
  production: boolean,
  embedded: boolean,
  problems: string[],
): string {
  if (!production && (value || embedded)) return value || DEV_SECRET;
  if (!value)
    problems.push(
      production
        ? `${name}: required in production`
        : `${name}: required with DATABASE_URL (the public development secret is only for the embedded database)`,
    );
  else if (value.length < MIN_PRODUCTION_SECRET_LENGTH)
    problems.push(`${name}: must be at least ${MIN_PRODUCTION_SECRET_LENGTH} characters in production`);
  return value ?? '';
}

function hostPort(entry: string): { host: string; port: number } {
  const at = entry.lastIndexOf(':');
  return { host: entry.slice(0, at), port: Number(entry.slice(at + 1)) };
}

function parseEnvironment<S extends z.ZodType>(target: S, env: Environment): z.infer<S> {
  // Empty strings mean "unset" so that `FOO=` in an env file falls back to the default.
  const present = Object.fromEntries(Object.entries(env).filter(([, value]) => value !== undefined && value !== ''));
  const parsed = target.safeParse(present);
  if (!parsed.success) {
    throw new ConfigError(parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`));
  }
  return parsed.data;
}

export function loadConfig(env: Environment = process.env) {
  const e = parseEnvironment(schema, env);
  const production = e.NODE_ENV === 'production';
  const problems: string[] = [];
  const embedded = !e.DATABASE_URL;
  const jwtSecret = checkSecret('JWT_SECRET', e.JWT_SECRET, production, embedded, problems);
  const sessionSecret = checkSecret('SESSION_SECRET', e.SESSION_SECRET, production, embedded, problems);
  if (production && !e.DATABASE_URL)
    problems.push('DATABASE_URL: required in production (the embedded database is for development)');
  if (e.DB_POOL_MIN > e.DB_POOL_MAX) problems.push('DB_POOL_MIN: must not exceed DB_POOL_MAX');
  if (e.SEND_BATCH_CONCURRENCY > e.DB_POOL_MAX)
    problems.push('SEND_BATCH_CONCURRENCY: must not exceed DB_POOL_MAX (each batch holds a connection)');
  // Sizes for what is not set, from the capacity plan for this machine (the probing lives in capacity/this-machine.ts).
  const sizes = processSizes(e.MEMORY_LIMIT_MB, e.INSTANCE_COUNT);
  const memory = memorySettings(e, sizes.memory, problems);
  const redisConfigured = Boolean(e.REDIS_URL) || e.REDIS_SENTINELS.length > 0;
  if (e.REDIS_URL && e.REDIS_SENTINELS.length > 0)
    problems.push('REDIS_SENTINELS: set either REDIS_URL or REDIS_SENTINELS, not both');
  const socketAdapter = e.SOCKET_ADAPTER ?? (redisConfigured ? 'redis' : 'memory');
  if (socketAdapter === 'redis' && !redisConfigured)
    problems.push('SOCKET_ADAPTER: redis needs REDIS_URL or REDIS_SENTINELS');
  const instance = e.NODE_APP_INSTANCE ?? '0';
  if (e.INSTANCE_PORT_BASE > 0 && !(/^\d+$/.test(instance) && e.INSTANCE_PORT_BASE + Number(instance) <= 65_535))
    problems.push(
      `INSTANCE_PORT_BASE: ${e.INSTANCE_PORT_BASE} + NODE_APP_INSTANCE (${instance}) must be a port number`,
    );
  const attachments = attachmentSettings(e, problems);
  const jobs = jobsSettings(e, production, redisConfigured, problems);
  if (problems.length > 0) throw new ConfigError(problems);

  return Object.freeze({
    env: e.NODE_ENV,
    production,
    port: e.PORT,
    host: e.HOST,
    logLevel: e.LOG_LEVEL,
    log: Object.freeze({ bufferBytes: e.LOG_BUFFER_BYTES, flushMs: e.LOG_FLUSH_MS }),
    instanceId: e.INSTANCE_ID ?? `${os.hostname()}:${instance}`,
    database: Object.freeze({
      url: e.DATABASE_URL,
      replicaUrls: Object.freeze(e.DATABASE_REPLICA_URLS),
      poolMax: e.DB_POOL_MAX,
      poolMin: e.DB_POOL_MIN,
      idleTimeoutMs: e.DB_IDLE_TIMEOUT_MS,
      connectTimeoutMs: e.DB_CONNECT_TIMEOUT_MS,
      statementTimeoutMs: e.DB_STATEMENT_TIMEOUT_MS,
      embeddedDir: e.PGLITE_DIR,
      readPoolMax: e.DB_READ_POOL_MAX ?? e.DB_POOL_MAX,
      replicas: Object.freeze({ maxLagMs: e.DB_REPLICA_MAX_LAG_MS, checkIntervalMs: e.DB_REPLICA_CHECK_INTERVAL_MS }),
    }),
    historyCache: Object.freeze({
      conversations: e.HISTORY_CACHE_CONVERSATIONS,
      messagesPerConversation: e.HISTORY_CACHE_MESSAGES,
      maxAgeMs: e.HISTORY_CACHE_MAX_AGE_MS,
    }),
    sendBatching: Object.freeze({
      maxBatch: e.SEND_BATCH_MAX,
      maxInFlight: e.SEND_BATCH_CONCURRENCY,
      waitMs: e.SEND_BATCH_WAIT_MS,
      maxQueued: e.SEND_QUEUE_MAX,
    }),
    redis: Object.freeze({
      configured: redisConfigured,
      url: e.REDIS_URL,
      sentinels: Object.freeze(e.REDIS_SENTINELS.map(hostPort)),
      sentinelName: e.REDIS_SENTINEL_NAME,
      prefix: e.REDIS_PREFIX,
    }),
    auth: Object.freeze({
      jwtSecret,
      sessionSecret,
      accessTokenTtlSec: e.ACCESS_TOKEN_TTL_SEC,
      accessTokenCacheSize: e.ACCESS_TOKEN_CACHE_SIZE,
      refreshTokenTtlDays: e.REFRESH_TOKEN_TTL_DAYS,
      sessionTtlMs: e.SESSION_TTL_HOURS * 3_600_000,
      sessionCookieSecure: e.SESSION_COOKIE_SECURE ? e.SESSION_COOKIE_SECURE === 'true' : production,
      passwordHashCost: e.PASSWORD_HASH_COST,
      revocationPollMs: e.REVOCATION_POLL_MS,
    }),
    health: Object.freeze({ detailToken: e.HEALTH_DETAIL_TOKEN, cacheMs: e.HEALTH_CACHE_MS }),
    http: Object.freeze({
      corsOrigins: Object.freeze(e.CORS_ORIGIN),
      trustProxy: e.TRUST_PROXY,
      bodyLimitBytes: e.BODY_LIMIT,
      headersTimeoutMs: e.HTTP_HEADERS_TIMEOUT_MS,
      requestTimeoutMs: e.HTTP_REQUEST_TIMEOUT_MS,
      keepAliveTimeoutMs: e.HTTP_KEEP_ALIVE_TIMEOUT_MS,
      instancePort: e.INSTANCE_PORT_BASE > 0 ? e.INSTANCE_PORT_BASE + Number(instance) : undefined,
      exposeErrors: e.EXPOSE_ERRORS && !production,
    }),
    rateLimit: Object.freeze({ authPerMin: e.RATE_LIMIT_AUTH_PER_MIN, apiPerMin: e.RATE_LIMIT_API_PER_MIN }),
    // CPU-heavy work: the worker-thread pool and what runs on it.
    cpu: Object.freeze({
      maxThreads: e.PISCINA_MAX_THREADS ?? sizes.workerThreads,
      maxQueue: e.PISCINA_MAX_QUEUE,
      idleTimeoutMs: e.PISCINA_IDLE_TIMEOUT_MS,
      maxOldGenerationSizeMb: e.PISCINA_WORKER_MAX_OLD_MB,
      closeTimeoutMs: e.PISCINA_CLOSE_TIMEOUT_MS,
      niceIncrement: e.PISCINA_WORKER_NICE,
      passwordHashing: e.PASSWORD_HASHING,
      exportPageSize: e.EXPORT_PAGE_SIZE,
      exportMaxConcurrent: e.EXPORT_MAX_CONCURRENT ?? Math.max(1, Math.floor(e.PISCINA_MAX_QUEUE / 2)),
    }),
    shutdownTimeoutMs: e.SHUTDOWN_TIMEOUT_MS,
    memory,
    realtime: Object.freeze({
      adapter: socketAdapter,
      maxPayloadBytes: e.SOCKET_MAX_PAYLOAD_BYTES,
      eventsPerSec: e.SOCKET_EVENTS_PER_SEC,
      eventsBurst: Math.max(e.SOCKET_EVENTS_BURST, e.SOCKET_EVENTS_PER_SEC),
      maxSocketsPerUser: e.SOCKET_MAX_PER_USER,
      transports: Object.freeze(
        e.SOCKET_TRANSPORTS.length > 0 ? e.SOCKET_TRANSPORTS : (['websocket', 'polling'] as const),
      ),
      connectTimeoutMs: e.SOCKET_CONNECT_TIMEOUT_MS,
      pendingPerIp: e.SOCKET_PENDING_PER_IP,
      reconnectSpreadMs: e.SOCKET_RECONNECT_SPREAD_MS,
      announceBacklogMax: e.ANNOUNCE_BACKLOG_MAX,
      clusterInstances: e.SOCKET_CLUSTER_INSTANCES,
      clusterGraceMs: e.SOCKET_CLUSTER_GRACE_MS,
      presenceTtlSec: e.PRESENCE_TTL_SEC,
      presenceGraceMs: e.PRESENCE_GRACE_MS,
      maxConnections: e.MAX_CONNECTIONS ?? sizes.socketCap,
      handshakeConversations: e.SOCKET_HANDSHAKE_CONVERSATIONS,
    }),
    chat: Object.freeze({
      editWindowSec: e.MESSAGE_EDIT_WINDOW,
      searchLanguage: e.SEARCH_LANGUAGE,
      searchQueryMaxChars: e.SEARCH_QUERY_MAX_CHARS,
      searchPageMax: e.SEARCH_PAGE_MAX,
      conversationsPageMax: e.CONVERSATIONS_PAGE_MAX,
      syncPageSize: e.SYNC_PAGE_SIZE,
      syncMaxBytes: e.SYNC_MAX_BYTES,
      syncPerSec: e.SYNC_PER_SEC,
      syncBurst: Math.max(e.SYNC_BURST, e.SYNC_PER_SEC),
    }),
    metrics: Object.freeze({
      index: Number.parseInt(instance, 10) || 0,
      instances: e.INSTANCE_COUNT,
      host: e.METRICS_HOST,
      portBase: e.METRICS_PORT_BASE,
      timeoutMs: e.METRICS_SCRAPE_TIMEOUT_MS,
    }),
    accessLog: e.ACCESS_LOG,
    web: Object.freeze({ enabled: e.WEB_CLIENT }),
    attachments,
    jobs,
  });
}

/**
 * Background jobs need Redis (BullMQ). A webhook URL must be http(s) and come with its secret; whether its host
 * resolves to a private address is checked when the jobs process starts (src/jobs/webhook-target.ts).
 */
function jobsSettings(e: z.infer<typeof schema>, production: boolean, redisConfigured: boolean, problems: string[]) {
  let notify;
  if (e.NOTIFY_WEBHOOK_URL) {
    const url = new URL(e.NOTIFY_WEBHOOK_URL);
    if (url.protocol !== 'http:' && url.protocol !== 'https:')
      problems.push(`NOTIFY_WEBHOOK_URL: must be an http or https URL, got ${url.protocol}`);
    if (!redisConfigured)
      problems.push('NOTIFY_WEBHOOK_URL: notifications need REDIS_URL or REDIS_SENTINELS (the job queue)');
    const secret = e.NOTIFY_WEBHOOK_SECRET ?? '';
    if (!secret)
      problems.push('NOTIFY_WEBHOOK_SECRET: required with NOTIFY_WEBHOOK_URL (receivers verify the signature with it)');
    else if (production && secret.length < MIN_PRODUCTION_SECRET_LENGTH)
      problems.push(`NOTIFY_WEBHOOK_SECRET: must be at least ${MIN_PRODUCTION_SECRET_LENGTH} characters in production`);
    if (e.NOTIFY_BACKOFF_BASE_MS > e.NOTIFY_BACKOFF_MAX_MS)
      problems.push('NOTIFY_BACKOFF_BASE_MS: must not exceed NOTIFY_BACKOFF_MAX_MS');
    notify = Object.freeze({
      url: e.NOTIFY_WEBHOOK_URL,
      secret,
      delayMs: e.NOTIFY_DELAY_MS,
      timeoutMs: e.NOTIFY_TIMEOUT_MS,
      maxAttempts: e.NOTIFY_MAX_ATTEMPTS,
      backoffBaseMs: e.NOTIFY_BACKOFF_BASE_MS,
      backoffMaxMs: e.NOTIFY_BACKOFF_MAX_MS,
      batchMax: e.NOTIFY_BATCH_MAX,
      perJob: e.NOTIFY_DELIVERIES_PER_JOB,
      // Outside production the receiver is usually on this machine (tests, development).
      allowPrivate: e.NOTIFY_ALLOW_PRIVATE || !production,
    });
  }
  if (production && e.ADMIN_TOKEN && e.ADMIN_TOKEN.length < MIN_PRODUCTION_SECRET_LENGTH)
    problems.push(`ADMIN_TOKEN: must be at least ${MIN_PRODUCTION_SECRET_LENGTH} characters in production`);
  if (e.EXPORT_TTL < 1_000) problems.push('EXPORT_TTL: must be at least 1s');
  return Object.freeze({
    enabled: redisConfigured,
    notify,
    concurrency: e.JOBS_CONCURRENCY,
    relay: Object.freeze({
      intervalMs: e.JOBS_RELAY_INTERVAL_MS,
      batch: e.JOBS_RELAY_BATCH,
      recheckMs: e.JOBS_RELAY_RECHECK_MS,
    }),
    lockMs: e.JOBS_LOCK_MS,
    exports: Object.freeze({ dir: e.EXPORTS_DIR, ttlMs: e.EXPORT_TTL, maxAttempts: e.EXPORT_MAX_ATTEMPTS }),
    adminToken: e.ADMIN_TOKEN,
  });
}

function attachmentSettings(e: z.infer<typeof schema>, problems: string[]) {
  const store = e.ATTACHMENT_STORE ?? (e.S3_BUCKET ? 's3' : e.AZURE_STORAGE_CONNECTION_STRING ? 'azure' : 'local');
  if (store === 's3' && !e.S3_BUCKET) problems.push('S3_BUCKET: required with ATTACHMENT_STORE=s3');
  if (store === 'azure' && !e.AZURE_STORAGE_CONNECTION_STRING)
    problems.push('AZURE_STORAGE_CONNECTION_STRING: required with ATTACHMENT_STORE=azure');
  if (Boolean(e.S3_ACCESS_KEY) !== Boolean(e.S3_SECRET_KEY))
    problems.push('S3_ACCESS_KEY and S3_SECRET_KEY: set both or neither');
  const types = e.ATTACHMENT_TYPES.map((type) => type.toLowerCase());
  for (const type of types)
    if (!/^[a-z]+\/[a-z0-9.+-]+$/.test(type))
      problems.push(`ATTACHMENT_TYPES: ${JSON.stringify(type)} is not a content type`);
  return Object.freeze({
    store,
    dir: e.ATTACHMENTS_DIR,
    maxBytes: e.ATTACHMENT_MAX_BYTES,
    types: Object.freeze(types),
    quotaBytes: e.ATTACHMENT_QUOTA_MB * 1024 * 1024,
    orphanTtlSec: e.ATTACHMENT_ORPHAN_TTL,
    deleteGraceSec: e.ATTACHMENT_DELETE_GRACE,
    sweepIntervalMs: e.ATTACHMENT_SWEEP_INTERVAL_MS,
    nameMaxChars: e.ATTACHMENT_NAME_MAX_CHARS,
    storeTimeoutMs: e.ATTACHMENT_STORE_TIMEOUT_MS,
    signedUrlTtlSec: e.ATTACHMENT_SIGNED_URL_TTL_SEC,
    thumbnailPx: e.ATTACHMENT_THUMBNAIL_PX,
    maxInputPixels: e.ATTACHMENT_MAX_INPUT_PIXELS,
    uploadThreads: e.UPLOAD_THREADS,
    uploadStreamsPerThread: e.UPLOAD_STREAMS_PER_THREAD,
    s3: Object.freeze({
      bucket: e.S3_BUCKET ?? '',
      region: e.S3_REGION,
      endpoint: e.S3_ENDPOINT,
      accessKey: e.S3_ACCESS_KEY,
      secretKey: e.S3_SECRET_KEY,
    }),
    azure: Object.freeze({
      connectionString: e.AZURE_STORAGE_CONNECTION_STRING ?? '',
      container: e.AZURE_STORAGE_CONTAINER,
    }),
  });
}

function memorySettings(e: z.infer<typeof schema>, defaults: ProcessSizes['memory'], problems: string[]) {
  const warnMb = e.MEMORY_THRESHOLD_MB ?? defaults.warnMb;
  const restartMb = e.MEMORY_RESTART_MB ?? defaults.restartMb;
  if (warnMb >= restartMb)
    problems.push(`MEMORY_THRESHOLD_MB (${warnMb}) must be below MEMORY_RESTART_MB (${restartMb})`);
  return Object.freeze({
    monitoring: e.ENABLE_MEMORY_MONITORING,
    logIntervalMs: e.MEMORY_MONITOR_INTERVAL,
    checkIntervalMs: e.MEMORY_CHECK_INTERVAL_MS,
    warnMb,
    restartMb,
  });
}

// What the ecosystem file and `npm run plan` size the deployment from; the app itself never needs these.
const deploymentSchema = z.object({
  ...sharedWithDeployment,
  MAX_WORKERS: z.coerce.number().int().min(0).optional(),
  DB_MAX_CONNECTIONS: int(100, 1),
  DB_RESERVED_CONNECTIONS: int(DEFAULT_DB_RESERVED_CONNECTIONS),
  DEPLOY_HOSTS: int(1, 1),
  // Each replica's own max_connections (read path); defaults to DB_MAX_CONNECTIONS.
  DB_REPLICA_MAX_CONNECTIONS: z.coerce.number().int().min(1).optional(),
  // Many hosts (deploy/DEPLOYMENT.md): the directory PM2 runs the app from, e.g. a `current` symlink to a release.
  // PM2 keeps an app's cwd across reloads, so releases switch only when the cwd is the symlink, not its target.
  APP_DIR: z.string().optional(),
  // Read here only for whether it is set: the cluster needs a real database.
  DATABASE_URL: optionalUrl,
  // The parley-jobs app (src/jobs/) is in the ecosystem whenever Redis is configured; false leaves it out (a host
  // that runs only the API, or a test of the API alone).
  JOBS_APP: bool(true),
  // Only whether Redis is configured (the app validates them): the jobs app has no queue without it.
  REDIS_URL: z.string().optional(),
  REDIS_SENTINELS: z.string().optional(),
});

/** What the ecosystem file and `npm run plan` read besides CONFIG_VARIABLES; docs/configuration.md lists both. */
export const DEPLOYMENT_VARIABLES: readonly string[] = Object.keys(deploymentSchema.shape);

export function loadDeploymentSettings(env: Environment = process.env) {
  const e = parseEnvironment(deploymentSchema, env);
  return Object.freeze({
    maxWorkers: e.MAX_WORKERS,
    memoryLimitMb: e.MEMORY_LIMIT_MB,
    dbMaxConnections: e.DB_MAX_CONNECTIONS,
    dbReservedConnections: e.DB_RESERVED_CONNECTIONS,
    hosts: e.DEPLOY_HOSTS,
    replicaMaxConnections: e.DB_REPLICA_MAX_CONNECTIONS,
    shutdownTimeoutMs: e.SHUTDOWN_TIMEOUT_MS,
    appDir: e.APP_DIR,
    /** No DATABASE_URL: the embedded PGlite database, which serves a single process. */
    embeddedDatabase: !e.DATABASE_URL,
    /** The parley-jobs app is planned and started: wanted, and Redis configured. */
    withJobs: e.JOBS_APP && Boolean(e.REDIS_URL || e.REDIS_SENTINELS),
  });
}

export type Config = ReturnType<typeof loadConfig>;
