// Builds the Koa application (without listening): the middleware order is the request's path through the
// service. Liveness never gets here (liveness.ts answers it first); health comes first (no auth, no limits, no
// browser headers), then body parsing and sessions, the per-IP limit on the auth routes, authentication, the
// per-user limit, and the API routes.
import Koa from 'koa';
import type { Middleware } from 'koa';
import { bodyParser } from '@koa/bodyparser';
import cors from '@koa/cors';
import helmet from 'koa-helmet';
import session from 'koa-session';
import type { Redis } from 'ioredis';
import type { Config } from '../config.js';
import type { AppError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import type { Database } from '../db/database.js';
import type { Health } from '../ops/health.js';
import type { InFlight } from '../ops/in-flight.js';
import type { Metrics } from '../ops/metrics.js';
import { redisSessionStore } from '../redis/session-store.js';
import type { AuthService } from '../services/auth.service.js';
import type { ConversationsService } from '../services/conversations.service.js';
import type { ConversationExportService } from '../services/export.service.js';
import type { MessagesService } from '../services/messages.service.js';
import type { PresenceService } from '../services/presence.service.js';
import type { TokenService } from '../services/tokens.js';
import type { ParleyState } from './context.js';
import { authenticate } from './middleware/authenticate.js';
import { errorHandler } from './middleware/error-handler.js';
import { limitPerMinute, type RateLimitStore } from './middleware/rate-limit.js';
import { requestContext } from './middleware/request-context.js';
import { shedLoad } from './middleware/shed-load.js';
import { publicAuthRoutes, logoutRoute } from './routes/auth.routes.js';
import { conversationRoutes } from './routes/conversations.routes.js';
import { exportRoutes } from './routes/export.routes.js';
import { healthRoutes } from './routes/health.routes.js';
import { userRoutes } from './routes/users.routes.js';

export interface HttpDeps {
  config: Config;
  log: Logger;
  db: Database;
  redis?: Redis;
  metrics: Metrics;
  health: Health;
  tokens: TokenService;
  auth: AuthService;
  conversations: ConversationsService;
  messages: MessagesService;
  presence: PresenceService;
  conversationExports: ConversationExportService;
  /** The 503 a password hash would get right now (worker pool full), or undefined. */
  passwordHashingAdmission(): AppError | undefined;
  /** While draining, responses ask clients to close keep-alive connections. */
  isDraining(): boolean;
  /** Handlers running now; shutdown waits for them before closing the pools they use. */
  requestHandlers: InFlight;
}

export const SESSION_COOKIE = 'parley.sid';

export function createHttpApp(deps: HttpDeps): Koa<ParleyState> {
  const { config } = deps;
  const app = new Koa<ParleyState>({ keys: [config.auth.sessionSecret], proxy: config.http.trustProxy > 0 });
  // Trust exactly as many X-Forwarded-For hops as there are proxies, so a client cannot spoof its address.
  app.maxIpsCount = config.http.trustProxy;
  // Errors are answered by errorHandler; Koa's default handler would only log them a second time.
  app.silent = true;

  const rateLimitStore: RateLimitStore = { redis: deps.redis, memory: () => new Map() };
  const routers = {
    health: healthRoutes(deps.health, deps.metrics),
    publicAuth: publicAuthRoutes(deps.auth),
    logout: logoutRoute(deps.auth),
    users: userRoutes(deps),
    conversations: conversationRoutes(deps),
    exports: exportRoutes(deps.conversationExports),
  };

  app.use(countHandler(deps.requestHandlers));
  app.use(drainingConnectionClose(deps.isDraining));
  app.use(requestContext(deps.log, deps.metrics));
  app.use(errorHandler(config.http.exposeErrors));
  // Health answers probes and scrapers, not browsers: no CORS or browser security headers (helmet's dozen
  // headers halved the throughput of a bare node:http server in the benchmark).
  app.use(routers.health.routes());
  app.use(helmet());
  app.use(corsFor(config.http.corsOrigins));
  // Register and login hash on the worker pool: while it is full they are refused before any other work.
  for (const path of ['/api/auth/register', '/api/auth/login']) app.use(mount(path, shedLoad(deps.passwordHashingAdmission)));

  app.use(
    bodyParser({
      enableTypes: ['json'],
      jsonLimit: config.http.bodyLimitBytes,
      encoding: 'utf-8',
      // Bodies must be objects or arrays; a bare string or number is malformed for every route here.
      jsonStrict: true,
    }),
  );
  if (config.auth.sessionCookieSecure) app.use(secureCookiesBehindProxy);
  app.use(
    session(
      {
        key: SESSION_COOKIE,
        maxAge: config.auth.sessionTtlMs,
        httpOnly: true,
        sameSite: 'lax',
        secure: config.auth.sessionCookieSecure,
        ...(deps.redis ? { store: redisSessionStore(deps.redis) } : {}),
      },
      app as unknown as Koa,
    ) as Middleware<ParleyState>,
  );

  const byIp = (_state: ParleyState, ip: string) => ip;
  app.use(mount('/api/auth/', limitPerMinute('auth', config.rateLimit.authPerMin, byIp, rateLimitStore, deps.log)));
  app.use(routers.publicAuth.routes());

  app.use(mount('/api/', authenticate(deps.tokens)));
  app.use(mount('/api/', limitPerMinute('api', config.rateLimit.apiPerMin, (state) => `user:${state.userId}`, rateLimitStore, deps.log)));
  // No allowedMethods(): a method a route does not serve is answered like any unknown route, 404 not_found.
  for (const router of [routers.logout, routers.users, routers.conversations, routers.exports]) app.use(router.routes());
  return app;
}

/** Runs `middleware` only for paths under `prefix`; others pass straight through (and fall to 404). */
function mount(prefix: string, middleware: Middleware<ParleyState>): Middleware<ParleyState> {
  return (ctx, next) => (ctx.path.startsWith(prefix) ? middleware(ctx, next) : next());
}

function corsFor(origins: readonly string[]): Middleware<ParleyState> {
  const allowed = new Set(origins);
  return cors({
    credentials: true,
    // An origin outside the list gets no CORS headers, so the browser refuses the response.
    origin: (ctx) => {
      const origin = ctx.get('origin');
      return allowed.has('*') || allowed.has(origin) ? origin : '';
    },
  }) as Middleware<ParleyState>;
}

/**
 * With Secure cookies configured, TLS normally ends at nginx and TRUST_PROXY lets Koa see https. When a request
 * still arrives as plain HTTP, the cookies library would refuse to set a Secure cookie and fail the request; we
 * set it anyway (a browser only sends it back over https).
 */
const secureCookiesBehindProxy: Middleware<ParleyState> = (ctx, next) => {
  (ctx.cookies as unknown as { secure: boolean }).secure = true;
  return next();
};

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
