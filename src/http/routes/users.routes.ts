// GET /api/me, GET /api/users?q=prefix, GET /api/presence?userIds=a,b
import { parseInput } from '../../core/validate.js';
import type { AuthService } from '../../services/auth.service.js';
import type { PresenceService } from '../../services/presence.service.js';
import type { UsersService } from '../../services/users.service.js';
import { currentUserId } from '../middleware/authenticate.js';
import { newRouter, type ParleyRouter } from '../router.js';
import { presenceQuerySchema, userSearchSchema } from '../schemas.js';

export function userRoutes(deps: { auth: AuthService; presence: PresenceService; users: UsersService }): ParleyRouter {
  const router = newRouter();

  router.get('/me', async (ctx) => {
    ctx.body = { user: await deps.auth.me(currentUserId(ctx.state)) };
  });

  router.get('/users', async (ctx) => {
    const { q } = parseInput(userSearchSchema, ctx.query, 'Query');
    ctx.body = { users: await deps.users.search(q) };
  });

  router.get('/presence', async (ctx) => {
    const { userIds } = parseInput(presenceQuerySchema, ctx.query, 'Query');
    ctx.body = { presence: await deps.presence.lookup(currentUserId(ctx.state), userIds) };
  });

  return router;
}
