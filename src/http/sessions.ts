// The cookie session, one definition for HTTP and the socket handshake: its cookie name, the keys that sign it,
// where it is kept (Redis when configured, else base64 JSON in the signed cookie itself, koa-session's default),
// koa-session's middleware for Koa, and loading a session from a raw Cookie header for the handshake, which has no
// Koa context. Both read the same cookie with the same keys from the same store, so a browser signed in over HTTP
// opens its socket with the same session.
import { ServerResponse, type IncomingMessage } from 'node:http';
import Cookies from 'cookies';
import type { Redis } from 'ioredis';
import type Koa from 'koa';
import type { Middleware } from 'koa';
import session from 'koa-session';
import type { Config } from '../config.js';
import { redisSessionStore } from '../redis/session-store.js';
import type { ParleyState } from './context.js';

export const SESSION_COOKIE = 'parley.sid';

/** What a signed-in session holds (auth.routes.ts writes it, authenticate.ts and the handshake read it). */
export interface ParleySession {
  userId?: string;
  familyId?: string;
}

/** A live signed-in session, as loaded from a Cookie header. */
export interface LoadedSession {
  userId: string;
  familyId?: string;
  /** Milliseconds since the epoch; undefined when koa-session stored no expiry. */
  expiresAt?: number;
}

type SessionSettings = Pick<Config['auth'], 'sessionSecret' | 'sessionTtlMs' | 'sessionCookieSecure'>;

export class Sessions {
  /** The Koa app's keys (`new Koa({keys})`): koa-session signs the cookie with them. */
  readonly keys: string[];
  private readonly store?: ReturnType<typeof redisSessionStore>;

  constructor(
    private readonly settings: SessionSettings,
    redis?: Redis,
  ) {
    this.keys = [settings.sessionSecret];
    this.store = redis ? redisSessionStore(redis) : undefined;
  }

  /** koa-session on `app` (whose keys must be this.keys). */
  middleware(app: Koa<ParleyState>): Middleware<ParleyState> {
    const sessions = session(
      {
        key: SESSION_COOKIE,
        maxAge: this.settings.sessionTtlMs,
        httpOnly: true,
        sameSite: 'lax',
        secure: this.settings.sessionCookieSecure,
        ...(this.store ? { store: this.store } : {}),
      },
      app as unknown as Koa,
    ) as Middleware<ParleyState>;
    return this.settings.sessionCookieSecure ? secureCookiesBehindProxy(sessions) : sessions;
  }

  /**
   * The signed-in session a Cookie header names, or undefined: no cookie, a bad signature, nothing stored under it,
   * no user in it, or expired.
   */
  async fromCookieHeader(header: string | undefined): Promise<LoadedSession | undefined> {
    if (!header) return undefined;
    const key = signedCookie(header, SESSION_COOKIE, this.keys);
    if (!key) return undefined;
    const stored = this.store ? await this.store.get(key) : decodeCookieSession(key);
    if (!stored || typeof stored.userId !== 'string') return undefined;
    const expiresAt = typeof stored._expire === 'number' ? stored._expire : undefined;
    if (expiresAt !== undefined && expiresAt <= Date.now()) return undefined;
    const familyId = typeof stored.familyId === 'string' ? stored.familyId : undefined;
    return { userId: stored.userId, familyId, expiresAt };
  }
}

/** The cookie's value when its `.sig` companion verifies with the keys, as Koa's own cookie jar reads it. */
function signedCookie(header: string, name: string, keys: string[]): string | undefined {
  const request = { headers: { cookie: header } } as IncomingMessage;
  // On a bad signature the jar clears the .sig cookie on this response, which goes nowhere; `secure: false` spares
  // it from asking a request with no socket whether it was encrypted.
  return new Cookies(request, new ServerResponse(request), { keys, secure: false }).get(name, { signed: true });
}

/** Without a store, koa-session keeps the session in the (signed) cookie as base64 JSON. */
function decodeCookieSession(value: string): Record<string, unknown> | undefined {
  try {
    return JSON.parse(Buffer.from(value, 'base64').toString('utf8')) as Record<string, unknown>;
  } catch {
    return undefined;
  }
}

/**
 * With Secure cookies configured, TLS normally ends at nginx and TRUST_PROXY lets Koa see https. When a request
 * still arrives as plain HTTP, the cookies library would refuse to set a Secure cookie and fail the request; we
 * set it anyway (a browser only sends it back over https).
 */
function secureCookiesBehindProxy(sessions: Middleware<ParleyState>): Middleware<ParleyState> {
  return (ctx, next) => {
    (ctx.cookies as unknown as { secure: boolean }).secure = true;
    return sessions(ctx, next);
  };
}
