// Who may open a socket. Two checks, in the order socket.io runs them:
//  - allowRequest: a browser Origin outside CORS_ORIGIN is refused (CORS does not cover WebSocket upgrades).
//    Clients that send no Origin (servers, mobile apps) are not browsers and are allowed.
//  - authenticate (namespace middleware): `auth.token` (access JWT) or the koa-session cookie, verified with the
//    Koa app's own keys and session store; anything else fails with connect_error "unauthorized".
import { ServerResponse, type IncomingMessage } from 'node:http';
import type Koa from 'koa';
import type { Redis } from 'ioredis';
import { SESSION_COOKIE } from '../http/app.js';
import type { ParleyState } from '../http/context.js';
import { redisSessionStore } from '../redis/session-store.js';
import type { TokenService } from '../services/tokens.js';
import type { ParleySocket } from './events.js';

export function originAllowed(origins: readonly string[]) {
  const allowed = new Set(origins);
  return (req: IncomingMessage, callback: (error: string | null | undefined, success: boolean) => void): void => {
    const origin = req.headers.origin;
    if (!origin || allowed.has('*') || allowed.has(origin) || sameOrigin(origin, req.headers.host)) {
      callback(null, true);
    } else {
      callback('origin not allowed', false);
    }
  };
}

function sameOrigin(origin: string, host: string | undefined): boolean {
  try {
    return host !== undefined && new URL(origin).host === host;
  } catch {
    return false;
  }
}

export interface Identity {
  userId: string;
  expiresAt: number;
  familyId?: string;
}

export interface HandshakeDeps {
  tokens: TokenService;
  http: Koa<ParleyState>;
  redis?: Redis;
}

/** Resolves the caller of a handshake, or undefined when no valid credential was sent. */
export function identify(deps: HandshakeDeps) {
  const store = deps.redis ? redisSessionStore(deps.redis) : undefined;
  return async (socket: ParleySocket): Promise<Identity | undefined> => {
    const token = (socket.handshake.auth as { token?: unknown } | undefined)?.token;
    if (typeof token === 'string' && token.length > 0) {
      // A client that sends a token means that token, as with the Bearer header over HTTP.
      const claims = await deps.tokens.verifyAccess(token).catch(() => undefined);
      return claims && { userId: claims.userId, expiresAt: claims.expiresAt, familyId: claims.familyId };
    }
    const request = socket.request;
    if (!request.headers.cookie) return undefined;
    // A Koa context over the handshake request: its cookie jar verifies the signature with the app's keys.
    const ctx = deps.http.createContext(request, new ServerResponse(request));
    const key = ctx.cookies.get(SESSION_COOKIE, { signed: true });
    if (!key) return undefined;
    const session = store ? await store.get(key) : decodeCookieSession(key);
    if (!session || typeof session.userId !== 'string') return undefined;
    const expire = typeof session._expire === 'number' ? session._expire : undefined;
    if (expire !== undefined && expire <= Date.now()) return undefined;
    const familyId = typeof session.familyId === 'string' ? session.familyId : undefined;
    return { userId: session.userId, expiresAt: Math.floor((expire ?? Date.now() + 86_400_000) / 1000), familyId };
  };
}

/** Without a store, koa-session keeps the session in the (signed) cookie as base64 JSON. */
function decodeCookieSession(value: string): Record<string, unknown> | undefined {
  try {
    return JSON.parse(Buffer.from(value, 'base64').toString('utf8')) as Record<string, unknown>;
  } catch {
    return undefined;
  }
}
