// The queue dashboard (bull-board) at /admin/queues, for operators holding ADMIN_TOKEN: `Authorization: Bearer
// <token>`, or Basic with the token as the password (a browser asks for it). Anything else under the path, in any
// letter case, is a 401 before the dashboard sees it. Mounted before helmet: the dashboard's page brings its own
// scripts and styles, which the API's Content-Security-Policy would block.
import { timingSafeEqual, createHash } from 'node:crypto';
import type { Middleware } from 'koa';
import { unauthorized } from '../core/errors.js';
import type { Queues } from '../jobs/queues.js';
import type { ParleyState } from './context.js';

export const ADMIN_DASHBOARD_PATH = '/admin/queues';

/** Compares digests, so neither the length nor the content of the token leaks through timing. */
const sameSecret = (given: string, expected: string) =>
  timingSafeEqual(createHash('sha256').update(given).digest(), createHash('sha256').update(expected).digest());

export function presentedAdminToken(authorization: string): string | undefined {
  const bearer = /^Bearer\s+(\S+)$/i.exec(authorization);
  if (bearer) return bearer[1];
  const basic = /^Basic\s+(\S+)$/i.exec(authorization);
  if (!basic) return undefined;
  const decoded = Buffer.from(basic[1]!, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  return colon < 0 ? undefined : decoded.slice(colon + 1);
}

/**
 * bull-board and its view engine weigh ~5 MB of heap: loaded at the first authorised request, so processes whose
 * operators never open the dashboard do not carry them (every forced full GC walks that heap too).
 */
async function loadBoard(queues: Queues): Promise<Middleware<ParleyState>> {
  const [{ createBullBoard }, { BullMQAdapter }, { KoaAdapter }] = await Promise.all([
    import('@bull-board/api'),
    import('@bull-board/api/bullMQAdapter'),
    import('@bull-board/koa'),
  ]);
  const serverAdapter = new KoaAdapter();
  serverAdapter.setBasePath(ADMIN_DASHBOARD_PATH);
  createBullBoard({ queues: queues.all().map((queue) => new BullMQAdapter(queue)), serverAdapter });
  return serverAdapter.registerPlugin() as unknown as Middleware<ParleyState>;
}

export function adminDashboard(queues: Queues, token: string): Middleware<ParleyState> {
  let board: Promise<Middleware<ParleyState>> | undefined;
  const prefix = ADMIN_DASHBOARD_PATH.toLowerCase();
  return async (ctx, next) => {
    const path = ctx.path.toLowerCase();
    if (path !== prefix && !path.startsWith(`${prefix}/`)) return next();
    const presented = presentedAdminToken(ctx.get('authorization'));
    if (presented === undefined || !sameSecret(presented, token)) {
      ctx.set('WWW-Authenticate', 'Basic realm="parley-admin", charset="UTF-8"');
      throw unauthorized('The queue dashboard needs ADMIN_TOKEN');
    }
    ctx.set('Cache-Control', 'no-store');
    board ??= loadBoard(queues);
    return (await board)(ctx, next);
  };
}
