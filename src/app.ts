// Composition root: creates pools, clients, the HTTP and socket.io servers and the services once, and hands each
// part only what it needs. Building does not listen; main.ts (or a test) decides where the server runs. Everything
// opened here is closed by one lifecycle (lifecycle.ts), in its declared order.
import { readFileSync } from 'node:fs';
import type http from 'node:http';
import type { Redis } from 'ioredis';
import type Koa from 'koa';
import type { Config } from './config.js';
import type { Logger } from './core/logger.js';
import { Database } from './db/database.js';
import { startEmbeddedDatabase, type EmbeddedDatabase } from './db/embedded.js';
import { migrate } from './db/migrate.js';
import { createHttpApp, newKoa, type HttpDeps } from './http/app.js';
import { createHttpServer } from './http/server.js';
import { answerLivenessFirst } from './http/liveness.js';
import { refusePasswordRoutesWhileSaturated } from './http/early-refusal.js';
import type { ParleyState } from './http/context.js';
import { Sessions } from './http/sessions.js';
import { EventLoopMonitor } from './ops/event-loop.js';
import { Health } from './ops/health.js';
import { InFlight } from './ops/in-flight.js';
import { createMetrics } from './ops/metrics.js';
import { assertTasksCompiled } from './cpu/tasks.js';
import { WorkerPool } from './cpu/worker-pool.js';
import { WorkerPoolMetrics } from './cpu/worker-pool-metrics.js';
import { createRedis } from './redis/client.js';
import { AuthService } from './services/auth.service.js';
import { ConversationExportService } from './services/export.service.js';
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
import { UsersService } from './services/users.service.js';
import { familiesRevokedSince } from './db/refresh-tokens.repository.js';
import { Lifecycle } from './lifecycle.js';
import { clientIpOf, identify } from './realtime/handshake.js';
import { Realtime } from './realtime/server.js';
import { bytesStoredByStore } from './db/attachments.repository.js';
import { attachmentMetrics } from './services/attachment-metrics.js';
import { AttachmentSweep } from './services/attachment-sweep.js';
import { AttachmentsService } from './services/attachments.service.js';
import { createObjectStore } from './storage/create-store.js';
import { TimedStore } from './storage/timed-store.js';
import { exportJobOptions, openQueues, type Queues } from './jobs/queues.js';
import { registerQueueMetrics } from './jobs/queue-metrics.js';
import { JobsService } from './services/jobs.service.js';

export const VERSION: string = (
  JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }
).version;

export interface Parley extends HttpDeps {
  db: Database;
  http: Koa<ParleyState>;
  /** Not listening yet: liveness probes answered directly, the rest by Koa; socket.io attached. */
  server: http.Server;
  realtime: Realtime;
  /** Served from only while the realtime layer feeds it events (realtime/history-feed.ts). */
  historyCache: HistoryCache;
  /** What `sync` answers: messages and changes after the client's cursors and token. */
  catchUp: CatchUp;
  /** This process's worker-thread pool for CPU-heavy work (password hashing, exports). */
  workerPool: WorkerPool;
  eventLoop: EventLoopMonitor;
  /** What this process closes, in its declared order (main.ts adds its own resources to it). */
  lifecycle: Lifecycle;
  /** Readiness turns 503, responses ask clients to close their connections, sockets hear `server:draining`. */
  startDraining(): void;
  /** Closes everything through the lifecycle; the HTTP server's listening is main.ts's. */
  close(): Promise<void>;
}

export async function buildApp(config: Config, log: Logger): Promise<Parley> {
  // Before anything opens: worker threads load compiled task files, so a missing build fails here, not at login.
  assertTasksCompiled();
  const lifecycle = new Lifecycle(log);
  return lifecycle.starting(() => build(config, log, lifecycle));
}

async function build(config: Config, log: Logger, lifecycle: Lifecycle): Promise<Parley> {
  let databaseUrl = config.database.url;
  let poolMax = config.database.poolMax;
  if (!databaseUrl) {
    const embedded: EmbeddedDatabase = await startEmbeddedDatabase(config.database.embeddedDir);
    lifecycle.own('embedded database', () => embedded.stop());
    databaseUrl = embedded.url;
    // The embedded server takes one connection at a time.
    poolMax = 1;
    log.warn(
      { dir: config.database.embeddedDir },
      'DATABASE_URL not set: using the embedded PGlite database (development only)',
    );
  }
  const db = Database.connect(
    databaseUrl,
    config.database.replicaUrls,
    { ...config.database, max: poolMax, min: Math.min(config.database.poolMin, poolMax) },
    log.child({ module: 'db' }),
  );
  lifecycle.own('database', () => db.close());
  await migrate(db.primary, log.child({ module: 'migrate' }));
  let redis: Redis | undefined;
  if (config.redis.configured) {
    const client = createRedis(config.redis, config.redis.prefix, log.child({ module: 'redis' }));
    lifecycle.own('redis', async () => void (await client.quit().catch(() => client.disconnect())));
    await client.connect();
    redis = client;
  } else {
    log.warn('REDIS_URL not set: rate limits count per process and sessions live in the signed cookie');
  }

  let draining = false;
  const eventLoop = new EventLoopMonitor().start();
  lifecycle.own('metrics', () => eventLoop.stop());
  const metrics = createMetrics(config.instanceId, config.metrics);
  const health = new Health({
    version: VERSION,
    instanceId: config.instanceId,
    db,
    redis,
    eventLoop,
    isDraining: () => draining,
    cacheMs: config.health.cacheMs,
  });
  metrics.bind({
    dbPools: () => {
      const stats = db.stats();
      return [
        { pool: 'primary', ...stats.primary },
        ...(stats.replicas ?? []).map((replica) => ({ ...replica.pool, pool: replica.name })),
      ];
    },
    dbReplicas: () => db.stats().replicas ?? [],
  });

  // --- The servers: HTTP and socket.io on it ---
  const sessions = new Sessions(config.auth, redis);
  const koa = newKoa(config, sessions);
  // socket.io takes over the server's request listeners when it attaches (it answers /socket.io/ itself and hands
  // everything else to them), so the API's listener must be there first; it calls the handler set once Koa is
  // built. (Added after socket.io, it answered polling requests a second time and broke the polling transport.)
  let handleRequest: http.RequestListener = (_req, res) => res.writeHead(503).end();
  const server = createHttpServer(config.http, (req, res) => handleRequest(req, res));
  // --- Read path: the hot-history cache (fed by socket.io's events) and read-your-writes fences ---
  // (README: Replicas and the history cache)
  const historyCache = new HistoryCache(config.historyCache, (id, count) => latestWindow(db.primary, id, count));
  const { maxLagMs, checkIntervalMs } = config.database.replicas;
  const fences = ReadYourWrites.needed(db, historyCache.enabled)
    ? new ReadYourWrites(db, redis, 2 * (maxLagMs + checkIntervalMs), log.child({ module: 'read-your-writes' }))
    : undefined;
  health.addProbe('historyCache', () => historyCache.stats());
  // --- end read path ---
  const realtime = new Realtime(server, {
    config,
    redis,
    registry: metrics.registry,
    historyCache,
    clientIp: clientIpOf(koa),
    log,
  });
  lifecycle.own('realtime', () => realtime.close());
  health.addProbe('sockets', () => realtime.snapshot());
  const broadcasts = realtime.broadcaster;

  const tokens = new TokenService(
    config.auth.jwtSecret,
    config.auth.accessTokenTtlSec,
    config.auth.accessTokenCacheSize,
  );
  // A revoked sign-in stays refused for as long as any credential of it can be presented.
  const revocations = new Revocations(
    { revokedSince: (since) => familiesRevokedSince(db.primary, since) },
    Math.max(config.auth.accessTokenTtlSec * 1000, config.auth.sessionTtlMs),
    config.auth.revocationPollMs,
    log.child({ module: 'revocations' }),
  );
  // --- CPU-heavy work: one worker-thread pool per process, sized by the capacity plan (cpu/, capacity/plan.ts) ---
  const poolMetrics = new WorkerPoolMetrics(metrics.registry);
  const workerPool: WorkerPool = new WorkerPool(
    config.cpu,
    poolMetrics.observe('cpu', () => workerPool.stats()),
  );
  lifecycle.own('worker pool', () => workerPool.close());
  health.addProbe('workerPool', () => workerPool.stats());
  const hashOnPool = config.cpu.passwordHashing === 'pool';
  const hasher = hashOnPool
    ? workerPoolPasswordHasher(workerPool, config.auth.passwordHashCost)
    : inlinePasswordHasher(config.auth.passwordHashCost);
  const passwordHashingAdmission = () => (hashOnPool ? workerPool.admissionError() : undefined);
  const conversationExports = new ConversationExportService(
    db,
    workerPool,
    config.cpu,
    log.child({ module: 'export' }),
  );
  // --- end CPU-heavy work ---
  const auth = new AuthService(
    db,
    hasher,
    tokens,
    revocations,
    config.auth.refreshTokenTtlDays * 86_400_000,
    log.child({ module: 'auth' }),
    broadcasts,
  );
  const conversations = new ConversationsService(db, broadcasts, fences);
  // --- Background jobs (src/jobs/, docs/jobs.md): the queues this process adds to and reports on ---
  const queues: Queues | undefined = config.jobs.enabled ? openQueues(config, false) : undefined;
  if (queues) {
    lifecycle.own('job queues', () => queues.close());
    registerQueueMetrics(metrics.registry, queues, db.primary);
  }
  const jobs = queues
    ? new JobsService(
        db,
        (id) => queues.exports.add('export', { jobId: id }, exportJobOptions(config.jobs.exports.maxAttempts, id)),
        log.child({ module: 'jobs' }),
      )
    : undefined;
  // --- end background jobs ---
  const sendBatching = { ...config.sendBatching, notificationOutbox: Boolean(config.jobs.notify) };
  const messages = new MessagesService(
    db,
    broadcasts,
    sendBatching,
    (size) => metrics.sendBatchSize.observe(size),
    historyCache,
    fences,
  );
  const presence = new PresenceService(db, realtime.presence);
  const messageChanges = new MessageChanges(db, broadcasts, { editWindowSec: config.chat.editWindowSec });
  const catchUp = new CatchUp(
    db,
    new ChangesTokens(config.auth.jwtSecret),
    config.chat.syncPageSize,
    config.chat.syncMaxBytes,
  );
  const search = new SearchService(db, log.child({ module: 'search' }));
  const users = new UsersService(db);
  // --- Attachments (docs/attachments.md): one store per process, chosen by the settings ---
  const { store: objectStore, incomingDir } = await createObjectStore(config.attachments);
  const attachmentSeries = attachmentMetrics(metrics.registry, () => bytesStoredByStore(db.primary));
  const store = new TimedStore(objectStore, config.attachments.storeTimeoutMs, attachmentSeries.storeSeconds);
  const attachments = new AttachmentsService(
    db,
    store,
    incomingDir,
    config.attachments,
    workerPool,
    attachmentSeries,
    log.child({ module: 'attachments' }),
  );
  // Uploads are received on threads of their own: parsing, hashing and writing a file is per-byte work that would
  // otherwise take the event loop (docs/attachments.md, Benchmark). Many uploads share a thread: each mostly
  // waits for its bytes.
  const uploadThreadCount = config.attachments.uploadThreads ?? config.cpu.maxThreads;
  const uploadThreads: WorkerPool = new WorkerPool(
    {
      ...config.cpu,
      maxThreads: uploadThreadCount,
      tasksPerThread: config.attachments.uploadStreamsPerThread,
      // As many waiting as receiving (docs/attachments.md, Upload threads).
      maxQueue: uploadThreadCount * config.attachments.uploadStreamsPerThread,
    },
    poolMetrics.observe('upload', () => uploadThreads.stats()),
  );
  lifecycle.own('upload threads', () => uploadThreads.close());
  health.addProbe('uploadThreads', () => uploadThreads.stats());
  health.addDependency('attachmentStore', () => attachments.ping());
  health.addProbe('attachments', () => ({ store: store.kind, answering: attachments.answering ?? null }));
  const attachmentSweep = new AttachmentSweep(
    db,
    store,
    config.attachments,
    log.child({ module: 'attachment-sweep' }),
  ).start();
  lifecycle.own('attachment sweep', () => attachmentSweep.stop());
  lifecycle.own('attachment store', async () => store.close());
  // --- end attachments ---

  await revocations.start();
  lifecycle.own('revocations', () => revocations.stop());
  await search.useLanguage(config.chat.searchLanguage);
  lifecycle.own('search re-index', () => search.close());

  const deps: HttpDeps = {
    passwordHashingAdmission,
    config,
    version: VERSION,
    log,
    redis,
    sessions,
    metrics,
    health,
    tokens,
    revocations,
    auth,
    users,
    conversations,
    messages,
    messageChanges,
    search,
    attachments,
    uploadThreads,
    presence,
    conversationExports,
    jobs,
    queues,
    isDraining: () => draining,
    requestHandlers: new InFlight(),
  };
  const app = createHttpApp(deps, koa);
  handleRequest = answerLivenessFirst(
    refusePasswordRoutesWhileSaturated(app.callback(), passwordHashingAdmission),
    deps.isDraining,
  );
  await realtime.serve({
    identify: identify({ tokens, sessions, origins: realtime.origins }),
    isRevoked: (familyId) => revocations.isRevoked(familyId),
    conversationIdsOf: (userId) => conversations.idsOf(userId),
    recentConversationIdsOf: (userId, limit) => conversations.recentIdsOf(userId, limit),
    messages,
    messageChanges,
    catchUp,
    syncPerSec: config.chat.syncPerSec,
    syncBurst: config.chat.syncBurst,
  });

  return {
    ...deps,
    db,
    http: app,
    server,
    realtime,
    historyCache,
    catchUp,
    workerPool,
    eventLoop,
    lifecycle,
    startDraining: () => {
      draining = true;
      realtime.announceDraining();
    },
    close: () => lifecycle.close(),
  };
}
