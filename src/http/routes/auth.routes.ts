// POST /api/auth/register|login|refresh (public, limited per IP) and /api/auth/logout (authenticated). Login and
// register also start a cookie session for browsers.
import type { Context, Middleware } from 'koa';
import type { SignedIn } from '../../contract/users.js';
import { parseInput } from '../../core/validate.js';
import type { AuthService, Authenticated } from '../../services/auth.service.js';
import type { ParleyState } from '../context.js';
import type { ParleySession } from '../sessions.js';
import { newRouter, type ParleyRouter } from '../router.js';
import { loginSchema, refreshSchema, registerSchema } from '../schemas.js';

/**
 * Every sign-in gets a new session id and the old session is destroyed: a cookie planted in the browser before
 * login (session fixation) would otherwise become the signed-in user's session, known to whoever planted it.
 */
async function startSession(ctx: Context, result: Authenticated, available: boolean): Promise<void> {
  if (!available || ctx.state.sessionUnavailable) {
    ctx.state.sessionUnavailable = true;
    return;
  }
  const session = ctx.session!;
  for (const key of Object.keys(session.toJSON())) delete (session as unknown as Record<string, unknown>)[key];
  const fields = session as unknown as ParleySession;
  fields.userId = result.user.id;
  fields.familyId = result.familyId;
  await session.regenerate();
}

/** The sign-in's answer; `session: "unavailable"` when it went on without a cookie session (Redis down). */
const authBody = (ctx: Context, { user, accessToken, refreshToken }: Authenticated): SignedIn => ({
  user,
  accessToken,
  refreshToken,
  ...(ctx.state.sessionUnavailable ? { session: 'unavailable' } : {}),
});

type Guard = Middleware<ParleyState>;

export interface PublicAuthGuards {
  /** Refuses a password route at once while the hashing pool is full: cheapest, so first. */
  shedHashing: Guard;
  /** The per-IP limit that bounds password guessing. */
  limit: Guard;
  /** Body parsing and the cookie session. */
  parse: Guard[];
  /** Whether cookie sessions can be stored right now (their store, Redis, answers). */
  sessionsAvailable(): boolean;
}

/** Routes that need no credential; each runs its guards itself, so no spelling of a path can skip them. */
export function publicAuthRoutes(auth: AuthService, guards: PublicAuthGuards): ParleyRouter {
  const router = newRouter('/api/auth');
  const { shedHashing, limit, parse, sessionsAvailable } = guards;

  router.post('/register', shedHashing, limit, ...parse, async (ctx) => {
    const result = await auth.register(parseInput(registerSchema, ctx.request.body));
    await startSession(ctx, result, sessionsAvailable());
    ctx.status = 201;
    ctx.body = authBody(ctx, result);
  });

  router.post('/login', shedHashing, limit, ...parse, async (ctx) => {
    const result = await auth.login(parseInput(loginSchema, ctx.request.body));
    await startSession(ctx, result, sessionsAvailable());
    ctx.body = authBody(ctx, result);
  });

  router.post('/refresh', limit, ...parse, async (ctx) => {
    const { refreshToken } = parseInput(refreshSchema, ctx.request.body);
    const { accessToken, refreshToken: next } = await auth.refresh(refreshToken);
    ctx.body = { accessToken, refreshToken: next };
  });

  return router;
}

/** POST /api/auth/logout (mounted under /api): revokes the credential's refresh family and destroys the session. */
export function logoutRoute(auth: AuthService): ParleyRouter {
  const router = newRouter('/auth');
  router.post('/logout', async (ctx) => {
    await auth.logout(ctx.state.familyId);
    ctx.session = null;
    ctx.status = 204;
  });
  return router;
}
