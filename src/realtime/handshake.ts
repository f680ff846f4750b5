// Who may open a socket. Three checks, in the order socket.io runs them:
//  - allowRequest (engine.io, before anything is built): a browser Origin outside CORS_ORIGIN is refused (CORS
//    does not cover WebSocket upgrades; `*` lets any origin in, but without credentials), and one client address
//    may hold at most SOCKET_PENDING_PER_IP connections that have not authenticated yet.
//  - connectTimeout: a connection that has not sent socket.io's CONNECT within SOCKET_CONNECT_TIMEOUT_MS is closed.
//  - identify (namespace middleware): `auth.token` (access JWT) or the koa-session cookie, read by the same
//    sessions module as HTTP's (http/sessions.ts); anything else fails with connect_error "unauthorized".
import { ServerResponse, type IncomingHttpHeaders, type IncomingMessage } from 'node:http';
import type Koa from 'koa';
import type { ParleyState } from '../http/context.js';
import type { Sessions } from '../http/sessions.js';
import type { TokenService } from '../services/tokens.js';
import type { ParleySocket } from './events.js';

/** Which browser origins may open a socket, and which may do so with the user's cookies. */
export class OriginPolicy {
  private readonly listed: Set<string>;
  private readonly anyOrigin: boolean;

  constructor(origins: readonly string[]) {
    this.listed = new Set(origins.filter((origin) => origin !== '*'));
    this.anyOrigin = origins.includes('*');
  }

  /** Clients that send no Origin (servers, mobile apps) are not browsers and are allowed. */
  allows(req: IncomingMessage): boolean {
    return this.credentialed(req) || this.anyOrigin;
  }

  /** A page may use the user's session cookie only from its own origin or one listed in CORS_ORIGIN. */
  credentialed(req: IncomingMessage): boolean {
    const origin = req.headers.origin;
    return !origin || this.listed.has(origin) || sameOrigin(origin, req.headers.host);
  }

  /** socket.io's CORS answer for long-polling, per request: credentials only for listed origins. */
  readonly cors = (
    req: { headers: IncomingHttpHeaders },
    callback: (error: Error | null, options: { origin: string | boolean; credentials: boolean }) => void,
  ): void => {
    const origin = req.headers.origin ?? '';
    if (this.listed.has(origin)) callback(null, { origin, credentials: true });
    else callback(null, { origin: this.anyOrigin ? '*' : false, credentials: false });
  };
}

function sameOrigin(origin: string, host: string | undefined): boolean {
  try {
    return host !== undefined && new URL(origin).host === host;
  } catch {
    return false;
  }
}

/**
 * Counts connections per client address from engine.io's handshake until they authenticate (the socket.io
 * connection opens) or close, and refuses new ones past the cap: unauthenticated connections cost memory and
 * were kept for 45 s. A connection that neither completes nor closes (a handshake that failed inside engine.io)
 * is forgotten after `forgetAfterMs`.
 */
export class PendingHandshakes {
  private readonly perIp = new Map<string, number>();
  private readonly counted = new WeakMap<IncomingMessage, string>();

  constructor(
    private readonly maxPerIp: number,
    private readonly forgetAfterMs: number,
    private readonly clientIp: (req: IncomingMessage) => string,
  ) {}

  /** Counts the request and answers whether it may go on. */
  admit(req: IncomingMessage): boolean {
    const ip = this.clientIp(req);
    const pending = this.perIp.get(ip) ?? 0;
    if (pending >= this.maxPerIp) return false;
    this.perIp.set(ip, pending + 1);
    this.counted.set(req, ip);
    setTimeout(() => this.settled(req), this.forgetAfterMs).unref();
    return true;
  }

  /** The connection authenticated or closed; idempotent. */
  settled(req: IncomingMessage): void {
    const ip = this.counted.get(req);
    if (ip === undefined) return;
    this.counted.delete(req);
    const left = (this.perIp.get(ip) ?? 1) - 1;
    if (left > 0) this.perIp.set(ip, left);
    else this.perIp.delete(ip);
  }
}

export interface Identity {
  userId: string;
  expiresAt: number;
  familyId?: string;
}

export interface HandshakeDeps {
  tokens: TokenService;
  sessions: Sessions;
  origins: OriginPolicy;
}

/** The client address as the HTTP API sees it (Koa's reading of TRUST_PROXY and X-Forwarded-For). */
export function clientIpOf(http: Koa<ParleyState>): (req: IncomingMessage) => string {
  return (req) => http.createContext(req, new ServerResponse(req)).ip;
}

/** Resolves the caller of a handshake, or undefined when no valid credential was sent. */
export function identify(deps: HandshakeDeps) {
  return async (socket: ParleySocket): Promise<Identity | undefined> => {
    const token = (socket.handshake.auth as { token?: unknown } | undefined)?.token;
    if (typeof token === 'string' && token.length > 0) {
      // A client that sends a token means that token, as with the Bearer header over HTTP.
      const claims = await deps.tokens.verifyAccess(token).catch(() => undefined);
      return claims && { userId: claims.userId, expiresAt: claims.expiresAt, familyId: claims.familyId };
    }
    const request = socket.request;
    // A page let in only by `*` gets no credentials: its cookies are not the user's consent.
    if (!request.headers.cookie || !deps.origins.credentialed(request)) return undefined;
    const session = await deps.sessions.fromCookieHeader(request.headers.cookie);
    if (!session) return undefined;
    const expiresAt = Math.floor((session.expiresAt ?? Date.now() + 86_400_000) / 1000);
    return { userId: session.userId, expiresAt, familyId: session.familyId };
  };
}
