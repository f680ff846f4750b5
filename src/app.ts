// Composition root: creates pools, clients and services once and hands them down. Building does not listen;
// main.ts (or a test) decides where the server runs.
import { readFileSync } from 'node:fs';
import type http from 'node:http';
import type { Redis } from 'ioredis';
import type Koa from 'koa';
import type { Config } from './config.js';
import type { Logger } from './core/logger.js';
import { Database } from './db/database.js';
import { startEmbeddedDatabase, type EmbeddedDatabase } from './db/embedded.js';
import { migrate } from './db/migrate.js';
import { createHttpApp, type HttpDeps } from './http/app.js';
import { answerLivenessFirst } from './http/liveness.js';
import { refusePasswordRoutesWhileSaturated } from './http/early-refusal.js';
import type { ParleyState } from './http/context.js';
import { EventLoopMonitor } from './ops/event-loop.js';
import { Health } from './ops/health.js';
import { InFlight } from './ops/in-flight.js';
import { createMetrics, type Metrics } from './ops/metrics.js';
import { workerPoolMetrics } from './ops/worker-pool-metrics.js';
import { assertTasksCompiled } from './cpu/tasks.js';
import { WorkerPool } from './cpu/worker-pool.js';
import { createRedis } from './redis/client.js';
import { AuthService } from './services/auth.service.js';
import { ConversationExportService } from './services/export.service.js';
import { BroadcastRelay } from './services/broadcaster.js';
import { ConversationsService } from './services/conversations.service.js';
import { CatchUp } from './services/catch-up.js';
import { ChangesTokens } from './services/changes-token.js';
import { MessageChanges } from './services/message-changes.js';
import { MessagesService } from './services/messages.service.js';
import { HistoryCache } from './services/history-cache.js';
import { ReadYourWrites } from './services/read-your-writes.js';
import { latestWindow } from './db/messages.repository.js';
import { SearchService } from './services/search.service.js';
import { inlinePasswordHasher, workerPoolPasswordHasher } from './services/password-hasher.js';
import { PresenceService } from './services/presence.service.js';
import { Revocations } from './services/revocations.js';
import { TokenService } from './services/tokens.js';
import { familiesRevokedSince } from './db/refresh-tokens.repository.js';
import { exportJobOptions, openQueues, type Queues } from './jobs/queues.js';
import { registerQueueMetrics } from './ops/queue-metrics.js';
import { JobsService } from './services/jobs.service.js';

export const VERSION: string = (
  JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }
).version;

export interface Parley extends HttpDeps {
  http: Koa<ParleyState>;
  /** What the HTTP server runs for each request: liveness probes answered directly, the rest by Koa. */
  handleRequest: http.RequestListener;
  broadcasts: BroadcastRelay;
  /** Served from only while the realtime layer feeds it events (realtime/history-feed.ts). */
  historyCache: HistoryCache;
  /** What `sync` answers: messages and changes after the client's cursors and token. */
  catchUp: CatchUp;
  /** This process's worker-thread pool for CPU-heavy work (password hashing, exports). */
  workerPool: WorkerPool;
  eventLoop: EventLoopMonitor;
  /** Readiness turns 503 and responses ask clients to close their connections. */
  startDraining(): void;
  /**
   * Registers a resource to close on shutdown (socket server, worker pool...). Closers run in reverse order of
   * registration, before the database pools and Redis they may still use.
   */
  onClose(name: string, closer: () => Promise<void>): void;
  /** Closes registered resources, then pools, Redis and the embedded database; the HTTP server is main.ts's. */
  close(): Promise<void>;
}

export async function buildApp(config: Config, log: Logger): Promise<Parley> {
  // Before anything opens: worker threads load compiled task files, so a missing build fails here, not at login.
  assertTasksCompiled();
  let embedded: EmbeddedDatabase | undefined;
  let databaseUrl = config.database.url;
  let poolMax = config.database.poolMax;
  if (!databaseUrl) {
    embedded = await startEmbeddedDatabase(config.database.embeddedDir);
    databaseUrl = embedded.url;
    // The embedded server takes one connection at a time.
    poolMax = 1;
    log.warn({ dir: config.database.embeddedDir }, 'DATABASE_URL not set: using the embedded PGlite database (development only)');
  }
  const db = Database.connect(
    databaseUrl,
    config.database.replicaUrls,
    { ...config.database, max: poolMax, min: Math.min(config.database.poolMin, poolMax) },
    log.child({ module: 'db' }),
  );
  let redis: Redis | undefined;
  try {
    await migrate(db.primary, log.child({ module: 'migrate' }));
    if (config.redis.configured) {
      redis = createRedis(config.redis, config.redis.prefix, log.child({ module: 'redis' }));
      await redis.connect();
    } else {
      log.warn('REDIS_URL not set: rate limits count per process and sessions live in the signed cookie');
    }
  } catch (error) {
    await Promise.allSettled([db.close(), redis?.quit(), embedded?.stop()]);
    throw error;
  }

  let draining = false;
  const closers: Array<{ name: string; closer: () => Promise<void> }> = [];
  const eventLoop = new EventLoopMonitor().start();
  const metrics = createMetrics(config.instanceId, config.metrics);
  const health = new Health({ version: VERSION, instanceId: config.instanceId, db, redis, eventLoop, isDraining: () => draining, cacheMs: config.health.cacheMs });
  metrics.bind({
    dbPools: () => {
      const stats = db.stats();
      return [{ pool: 'primary', ...stats.primary }, ...(stats.replicas ?? []).map((replica) => ({ ...replica.pool, pool: replica.name }))];
    },
    dbReplicas: () => db.stats().replicas ?? [],
  });

  const broadcasts = new BroadcastRelay();
  const tokens = new TokenService(config.auth.jwtSecret, config.auth.accessTokenTtlSec, config.auth.accessTokenCacheSize);
  // A revoked sign-in stays refused for as long as any credential of it can be presented.
  const revocations = new Revocations(
    { revokedSince: (since) => familiesRevokedSince(db.primary, since) },
    Math.max(config.auth.accessTokenTtlSec * 1000, config.auth.sessionTtlMs),
    config.auth.revocationPollMs,
    log.child({ module: 'revocations' }),
  );
  // --- CPU-heavy work: one worker-thread pool per process, sized by the capacity plan (cpu/, ops/capacity.ts) ---
  const workerPool: WorkerPool = new WorkerPool(config.cpu, workerPoolMetrics(metrics.registry, () => workerPool.stats()));
  health.addProbe('workerPool', () => workerPool.stats());
  const hashOnPool = config.cpu.passwordHashing === 'pool';
  const hasher = hashOnPool
    ? workerPoolPasswordHasher(workerPool, config.auth.passwordHashCost)
    : inlinePasswordHasher(config.auth.passwordHashCost);
  const passwordHashingAdmission = () => (hashOnPool ? workerPool.admissionError() : undefined);
  const conversationExports = new ConversationExportService(db, workerPool, config.cpu.exportPageSize, config.cpu.exportMaxConcurrent, log.child({ module: 'export' }));
  // --- end CPU-heavy work ---
  const auth = new AuthService(db, hasher, tokens, revocations, config.auth.refreshTokenTtlDays * 86_400_000, log.child({ module: 'auth' }), broadcasts);
  // --- Read path: the hot-history cache and read-your-writes fences (README: Replicas and the history cache) ---
  const historyCache = new HistoryCache(config.historyCache, (id, count) => latestWindow(db.primary, id, count));
  const { maxLagMs, checkIntervalMs } = config.database.replicas;
  const fences = ReadYourWrites.needed(db, historyCache.enabled)
    ? new ReadYourWrites(db, redis, 2 * (maxLagMs + checkIntervalMs), log.child({ module: 'read-your-writes' }))
    : undefined;
  health.addProbe('historyCache', () => historyCache.stats());
  // --- end read path ---
  const conversations = new ConversationsService(db, broadcasts, fences);
  // --- Background jobs (src/jobs/, docs/jobs.md): the queues this process adds to and reports on ---
  const queues: Queues | undefined = config.jobs.enabled ? openQueues(config, false) : undefined;
  if (queues) registerQueueMetrics(metrics.registry, queues, db.primary);
  const jobs = queues
    ? new JobsService(db, (id) => queues.exports.add('export', { jobId: id }, exportJobOptions(config.jobs.exports.maxAttempts, id)), log.child({ module: 'jobs' }))
    : undefined;
  // --- end background jobs ---
  const sendBatching = { ...config.sendBatching, notificationOutbox: Boolean(config.jobs.notify) };
  const messages = new MessagesService(db, broadcasts, sendBatching, (size) => metrics.sendBatchSize.observe(size), historyCache, fences);
  const presence = new PresenceService(db);
  const messageChanges = new MessageChanges(db, broadcasts, { editWindowSec: config.chat.editWindowSec });
  const catchUp = new CatchUp(db, new ChangesTokens(config.auth.jwtSecret), config.chat.syncPageSize, config.chat.syncMaxBytes);
  const search = new SearchService(db, log.child({ module: 'search' }));

  const parley: Omit<Parley, 'http' | 'handleRequest'> = {
    passwordHashingAdmission,
    config,
    version: VERSION,
    log,
    db,
    redis,
    metrics,
    health,
    tokens,
    revocations,
    auth,
    conversations,
    messages,
    messageChanges,
    catchUp,
    search,
    presence,
    broadcasts,
    historyCache,
    workerPool,
    conversationExports,
    jobs,
    queues,
    eventLoop,
    startDraining: () => {
      draining = true;
    },
    isDraining: () => draining,
    requestHandlers: new InFlight(),
    onClose(name, closer) {
      closers.push({ name, closer });
    },
    async close() {
      for (const { name, closer } of [...closers].reverse()) {
        await closer().catch((error: unknown) => log.error({ err: error, resource: name }, 'close failed'));
      }
      eventLoop.stop();
      await Promise.allSettled([db.close(), redis?.quit()]);
      await embedded?.stop();
    },
  };
  parley.onClose('worker pool', () => workerPool.close());
  if (queues) parley.onClose('job queues', () => queues.close());
  try {
    await revocations.start();
  } catch (error) {
    await parley.close();
    throw error;
  }
  parley.onClose('revocations', async () => revocations.stop());
  try {
    await search.useLanguage(config.chat.searchLanguage);
  } catch (error) {
    await parley.close();
    throw error;
  }
  parley.onClose('search re-index', () => search.close());
  const app = createHttpApp(parley);
  const handleRequest = answerLivenessFirst(refusePasswordRoutesWhileSaturated(app.callback(), passwordHashingAdmission), parley.isDraining);
  return { ...parley, http: app, handleRequest };
}
