// Identifies the caller by `Authorization: Bearer <jwt>` or, failing that, by the session cookie. A credential of a
// revoked sign-in (logout, refresh-token reuse on any process or host) is refused like a bad one.
// A Bearer header that does not verify is a 401 even if a session cookie is also present: a client that sends a
// token means that token.
import type { Middleware } from 'koa';
import { unauthorized } from '../../core/errors.js';
import type { Revocations } from '../../services/revocations.js';
import type { TokenService } from '../../services/tokens.js';
import type { ParleyState } from '../context.js';
import type { ParleySession } from '../sessions.js';

const SIGNED_OUT = 'This sign-in has ended; sign in again';

export function authenticate(tokens: TokenService, revocations: Revocations): Middleware<ParleyState> {
  return async (ctx, next) => {
    const header = ctx.get('authorization');
    if (header) {
      const match = /^Bearer\s+(\S+)$/i.exec(header);
      if (!match) throw unauthorized('Authorization header must be "Bearer <token>"');
      const claims = await tokens.verifyAccess(match[1]!);
      if (revocations.isRevoked(claims.familyId)) throw unauthorized(SIGNED_OUT);
      ctx.state.userId = claims.userId;
      ctx.state.familyId = claims.familyId;
      return next();
    }
    const session = ctx.session as (ParleySession & object) | null;
    if (!session?.userId) throw unauthorized();
    if (revocations.isRevoked(session.familyId)) {
      ctx.session = null;
      throw unauthorized(SIGNED_OUT);
    }
    ctx.state.userId = session.userId;
    ctx.state.familyId = session.familyId;
    return next();
  };
}

/** The authenticated user's id; only for routes behind `authenticate`. */
export const currentUserId = (state: ParleyState): string => {
  if (!state.userId) throw unauthorized();
  return state.userId;
};
