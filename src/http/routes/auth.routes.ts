// POST /api/auth/register|login|refresh|logout. Login and register also start a cookie session for browsers.
import Router from '@koa/router';
import type { Context } from 'koa';
import { parseInput } from '../../core/validate.js';
import type { AuthService, Authenticated } from '../../services/auth.service.js';
import type { ParleySession, ParleyState } from '../context.js';
import { loginSchema, refreshSchema, registerSchema } from '../schemas.js';

function startSession(ctx: Context, result: Authenticated): void {
  const session = ctx.session as ParleySession;
  session.userId = result.user.id;
  session.familyId = result.familyId;
}

const authBody = ({ user, accessToken, refreshToken }: Authenticated) => ({ user, accessToken, refreshToken });

/** Routes that need no credential (rate limited per IP by the caller). */
export function publicAuthRoutes(auth: AuthService): Router<ParleyState> {
  const router = new Router<ParleyState>({ prefix: '/api/auth' });

  router.post('/register', async (ctx) => {
    const result = await auth.register(parseInput(registerSchema, ctx.request.body));
    startSession(ctx, result);
    ctx.status = 201;
    ctx.body = authBody(result);
  });

  router.post('/login', async (ctx) => {
    const result = await auth.login(parseInput(loginSchema, ctx.request.body));
    startSession(ctx, result);
    ctx.body = authBody(result);
  });

  router.post('/refresh', async (ctx) => {
    const { refreshToken } = parseInput(refreshSchema, ctx.request.body);
    const { accessToken, refreshToken: next } = await auth.refresh(refreshToken);
    ctx.body = { accessToken, refreshToken: next };
  });

  return router;
}

/** POST /api/auth/logout: revokes the credential's refresh family and destroys the session. */
export function logoutRoute(auth: AuthService): Router<ParleyState> {
  const router = new Router<ParleyState>({ prefix: '/api/auth' });
  router.post('/logout', async (ctx) => {
    await auth.logout(ctx.state.familyId);
    ctx.session = null;
    ctx.status = 204;
  });
  return router;
}
