// Builds the Koa application (without listening): the middleware order is the request's path through the
// service. Liveness never gets here (liveness.ts answers it first); health comes first (no auth, no limits, no
// browser headers), then browser headers and CORS, then the routers, each of which runs its own guards: load
// shedding, the per-IP limit, body parsing and sessions on the auth routes; body parsing, sessions,
// authentication and the per-user limit on the rest of /api.
import Koa from 'koa';
import type { Middleware } from 'koa';
import { bodyParser } from '@koa/bodyparser';
import cors from '@koa/cors';
import helmet from 'koa-helmet';
import type { Redis } from 'ioredis';
import type { Config } from '../config.js';
import type { AppError } from '../core/errors.js';
import type { WorkerPool } from '../cpu/worker-pool.js';
import type { Logger } from '../core/logger.js';
import type { Health } from '../ops/health.js';
import type { InFlight } from '../ops/in-flight.js';
import type { Metrics } from '../ops/metrics.js';
import { isRedisReady } from '../redis/client.js';
import { isRedisUnavailable } from '../redis/unavailable.js';
import type { AttachmentsService } from '../services/attachments.service.js';
import type { AuthService } from '../services/auth.service.js';
import type { ConversationsService } from '../services/conversations.service.js';
import type { ConversationExportService } from '../services/export.service.js';
import type { MessageChanges } from '../services/message-changes.js';
import type { MessagesService } from '../services/messages.service.js';
import type { PresenceService } from '../services/presence.service.js';
import type { Revocations } from '../services/revocations.js';
import type { SearchService } from '../services/search.service.js';
import type { TokenService } from '../services/tokens.js';
import type { UsersService } from '../services/users.service.js';
import type { JobsService } from '../services/jobs.service.js';
import type { Queues } from '../jobs/queues.js';
import { adminDashboard } from './admin-dashboard.js';
import { jobRoutes } from './routes/jobs.routes.js';
import type { ParleyState } from './context.js';
import { authenticate } from './middleware/authenticate.js';
import { attachmentRoutes } from './routes/attachments.routes.js';
import { errorHandler } from './middleware/error-handler.js';
import { limitPerMinute, type RateLimitStore } from './middleware/rate-limit.js';
import { requestContext } from './middleware/request-context.js';
import { shedLoad } from './middleware/shed-load.js';
import { serveWebClient, WEB_CLIENT_DIR } from './static.js';
import { SESSION_COOKIE, type Sessions } from './sessions.js';
import { newRouter, type ParleyRouter } from './router.js';
import { publicAuthRoutes, logoutRoute } from './routes/auth.routes.js';
import { conversationRoutes } from './routes/conversations.routes.js';
import { exportRoutes } from './routes/export.routes.js';
import { healthRoutes } from './routes/health.routes.js';
import { metricsRoutes } from './routes/metrics.routes.js';
import { openApiRoutes } from './routes/openapi.routes.js';
import { searchRoutes } from './routes/search.routes.js';
import { userRoutes } from './routes/users.routes.js';

export interface HttpDeps {
  config: Config;
  /** package.json's version, for /openapi.json. */
  version: string;
  log: Logger;
  redis?: Redis;
  /** The cookie session (http/sessions.ts), shared with the socket handshake. */
  sessions: Sessions;
  metrics: Metrics;
  health: Health;
  tokens: TokenService;
  /** Sign-ins revoked on any process or host (logout, refresh-token reuse). */
  revocations: Revocations;
  auth: AuthService;
  users: UsersService;
  conversations: ConversationsService;
  messages: MessagesService;
  messageChanges: MessageChanges;
  search: SearchService;
  attachments: AttachmentsService;
  /** The threads that receive uploads (cpu/tasks/upload.task.ts), beside the CPU pool. */
  uploadThreads: WorkerPool;
  presence: PresenceService;
  conversationExports: ConversationExportService;
  /** Exports as jobs; absent without Redis (no queue). */
  jobs?: JobsService;
  /** The background queues, for the dashboard; absent without Redis. */
  queues?: Queues;
  /** The 503 a password hash would get right now (worker pool full), or undefined. */
  passwordHashingAdmission(): AppError | undefined;
  /** While draining, responses ask clients to close keep-alive connections. */
  isDraining(): boolean;
  /** Handlers running now; shutdown waits for them before closing the pools they use. */
  requestHandlers: InFlight;
}

export interface Routers {
  health: ParleyRouter;
  /** /metrics and /health/metrics: no auth, never rate limited, like health. */
  metrics: ParleyRouter;
  /** GET /openapi.json: no auth. */
  openApi: ParleyRouter;
  /** register, login, refresh: no credential, limited per IP. */
  publicAuth: ParleyRouter;
  /** Everything else under /api: authenticated, limited per user. */
  api: ParleyRouter;
}

/**
 * The routers with their guards inside: a guard runs exactly when one of its router's routes matches, so routing
 * and guarding cannot disagree about a path (an outside review reached authenticated routes as `/API/users` while
 * the guards, mounted by path prefix, only looked at `/api/`). Exported for the test that walks every route.
 */
export function buildRouters(deps: HttpDeps, app: Koa<ParleyState>): Routers {
  const { config } = deps;
  const rateLimitStore: RateLimitStore = {
    redis: deps.redis,
    memory: () => new Map(),
    onFallback: (limiter) => deps.metrics.rateLimitFallbacks.inc({ limiter }),
  };
  const body = jsonBody(config.http.bodyLimitBytes);
  const session = deps.sessions.middleware(app);
  const parse = [body, session];

  const byIp = (_state: ParleyState, ip: string) => ip;
  const publicAuth = publicAuthRoutes(deps.auth, {
    shedHashing: shedLoad(deps.passwordHashingAdmission),
    limit: limitPerMinute('auth', config.rateLimit.authPerMin, byIp, rateLimitStore, deps.log),
    parse: [body, sessionsOptional(session)],
    sessionsAvailable: () => !deps.redis || isRedisReady(deps.redis),
  });

  const api = newRouter('/api');
  api.use(...parse, authenticate(deps.tokens, deps.revocations));
  api.use(
    limitPerMinute('api', config.rateLimit.apiPerMin, (state) => `user:${state.userId}`, rateLimitStore, deps.log),
  );
  const jobs = deps.jobs ? [jobRoutes(deps.jobs)] : [];
  for (const router of [
    logoutRoute(deps.auth),
    userRoutes(deps),
    conversationRoutes(deps),
    exportRoutes(deps.conversationExports),
    ...jobs,
    searchRoutes(deps),
    attachmentRoutes(deps),
  ]) {
    api.use(router.routes());
  }
  return {
    health: healthRoutes(deps.health, config.health.detailToken),
    metrics: metricsRoutes(deps.metrics),
    openApi: openApiRoutes(deps.version, SESSION_COOKIE),
    publicAuth,
    api,
  };
}

/**
 * The Koa application before any middleware: its proxy settings read client addresses, for the socket handshake as
 * for HTTP, so it exists before the services and the socket server. Its keys are the sessions' (they sign the cookie).
 */
export function newKoa(config: Config, sessions: Sessions): Koa<ParleyState> {
  const app = new Koa<ParleyState>({ keys: sessions.keys, proxy: config.http.trustProxy > 0 });
  // Trust exactly as many X-Forwarded-For hops as there are proxies, so a client cannot spoof its address.
  app.maxIpsCount = config.http.trustProxy;
  // Errors are answered by errorHandler; Koa's default handler would only log them a second time.
  app.silent = true;
  return app;
}

/** Installs the middleware and routes on `app` (from newKoa). */
export function createHttpApp(deps: HttpDeps, app: Koa<ParleyState>): Koa<ParleyState> {
  const { config } = deps;
  const routers = buildRouters(deps, app);

  app.use(countHandler(deps.requestHandlers));
  app.use(drainingConnectionClose(deps.isDraining));
  app.use(requestContext(deps.log, deps.metrics, config.accessLog));
  app.use(errorHandler(config.http.exposeErrors));
  // Health answers probes and scrapers, not browsers: no CORS or browser security headers (helmet's dozen
  // headers halved the throughput of a bare node:http server in the benchmark).
  app.use(routers.health.routes());
  app.use(routers.metrics.routes());
  app.use(routers.openApi.routes());
  if (deps.queues && config.jobs.adminToken) app.use(adminDashboard(deps.queues, config.jobs.adminToken));
  // The web client sets its own Content-Security-Policy for the page; everything else gets helmet's.
  if (config.web.enabled) app.use(serveWebClient(WEB_CLIENT_DIR, deps.log));
  app.use(helmet());
  app.use(corsFor(config.http.corsOrigins));
  app.use(routers.publicAuth.routes());
  // No allowedMethods(): a method a route does not serve is answered like any unknown route, 404 not_found.
  app.use(routers.api.routes());
  return app;
}

function jsonBody(limitBytes: number): Middleware<ParleyState> {
  return bodyParser({
    enableTypes: ['json'],
    jsonLimit: limitBytes,
    encoding: 'utf-8',
    // Bodies must be objects or arrays; a bare string or number is malformed for every route here.
    jsonStrict: true,
  }) as Middleware<ParleyState>;
}

/**
 * Sessions on the sign-in routes: when Redis cannot be reached the sign-in goes on without a cookie session (the
 * tokens work, and the answer says `"session": "unavailable"`) instead of failing after the tokens were issued.
 */
function sessionsOptional(sessions: Middleware<ParleyState>): Middleware<ParleyState> {
  return async (ctx, next) => {
    let reached = false;
    try {
      await sessions(ctx, () => {
        reached = true;
        return next();
      });
    } catch (error) {
      if (!isRedisUnavailable(error)) throw error;
      ctx.state.sessionUnavailable = true;
      if (!reached) await next();
      else if (ctx.body && typeof ctx.body === 'object') ctx.body = { ...ctx.body, session: 'unavailable' };
    }
  };
}

/**
 * CORS_ORIGIN lists the origins a browser may call with credentials (cookies); `*` in the list lets any other
 * origin call without them, so `*` never hands a stranger's page the user's session.
 */
function corsFor(origins: readonly string[]): Middleware<ParleyState> {
  const listed = new Set(origins.filter((origin) => origin !== '*'));
  const anyOrigin = origins.includes('*');
  return cors({
    credentials: (ctx) => listed.has(ctx.get('origin')),
    // An origin outside the list gets no CORS headers, so the browser refuses the response.
    origin: (ctx) => {
      const origin = ctx.get('origin');
      if (listed.has(origin)) return origin;
      return anyOrigin ? '*' : '';
    },
  }) as Middleware<ParleyState>;
}

/** Counts a handler until it returns, even when its client has gone: only then is it done with the pools. */
function countHandler(handlers: InFlight): Middleware<ParleyState> {
  return async (_ctx, next) => {
    handlers.enter();
    try {
      await next();
    } finally {
      handlers.leave();
    }
  };
}

function drainingConnectionClose(isDraining: () => boolean): Middleware<ParleyState> {
  return async (ctx, next) => {
    await next();
    if (isDraining()) ctx.set('Connection', 'close');
  };
}
