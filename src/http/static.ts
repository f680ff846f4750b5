// Serves the built web client (dist/web, made by `npm run build:web` from src/web) at `/`, the way a CDN expects:
// hashed assets cached for a year as immutable, index.html revalidated on every load, the build's precompressed
// brotli and gzip copies chosen by Accept-Encoding, and the page's own Content-Security-Policy.
//
// Hand-written rather than koa-static: the build output is a handful of files known at start, so they are read
// once into a table and a URL can only ever name one of them (no path from the request reaches the file system).
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Middleware } from 'koa';
import type { Logger } from '../core/logger.js';
import type { ParleyState } from './context.js';

/** Where `npm run build:web` writes the client, the same from dist/http and from src/http (tsx). */
export const WEB_CLIENT_DIR = fileURLToPath(new URL('../../dist/web/', import.meta.url));

/**
 * Only this origin: scripts, styles, images and fetches. `connect-src 'self'` covers the socket.io endpoint, which
 * is /socket.io on this origin (CSP3 matches ws: and wss: to 'self'); naming the host instead would mean echoing
 * the request's Host header into a header a shared cache may store.
 */
export const WEB_CLIENT_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data: blob:",
  "connect-src 'self'",
  "font-src 'self'",
  "manifest-src 'self'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

export const IMMUTABLE = 'public, max-age=31536000, immutable';
export const REVALIDATE = 'no-cache';

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json; charset=utf-8',
  '.webmanifest': 'application/manifest+json',
  '.woff2': 'font/woff2',
  '.txt': 'text/plain; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
};

/** Paths that belong to the API, health and socket.io, never to the client. */
const NOT_CLIENT = /^\/(api|health|socket\.io)(\/|$)/i;

type Encoding = 'br' | 'gzip' | 'identity';

interface Variant {
  body: Buffer;
  etag: string;
}

interface StaticFile {
  type: string;
  cacheControl: string;
  variants: Partial<Record<Encoding, Variant>>;
}

/** Reads the build into memory: every file and its .br / .gz siblings, keyed by URL path. */
export function loadClientFiles(dir: string): Map<string, StaticFile> {
  const files = new Map<string, StaticFile>();
  for (const relative of listFiles(dir)) {
    if (relative.endsWith('.br') || relative.endsWith('.gz')) continue;
    const full = path.join(dir, relative);
    const urlPath = `/${relative.split(path.sep).join('/')}`;
    const variants: StaticFile['variants'] = { identity: variant(readFileSync(full), 'id') };
    for (const [encoding, suffix] of [
      ['br', '.br'],
      ['gzip', '.gz'],
    ] as const) {
      if (existsSync(full + suffix)) variants[encoding] = variant(readFileSync(full + suffix), encoding);
    }
    files.set(urlPath, {
      type: CONTENT_TYPES[path.extname(relative)] ?? 'application/octet-stream',
      // Vite puts content-hashed names under assets/; anything else (index.html) must be revalidated.
      cacheControl: urlPath.startsWith('/assets/') ? IMMUTABLE : REVALIDATE,
      variants,
    });
  }
  const index = files.get('/index.html');
  if (index) files.set('/', index);
  return files;
}

function listFiles(dir: string, prefix = ''): string[] {
  return readdirSync(path.join(dir, prefix)).flatMap((name) => {
    const relative = path.join(prefix, name);
    return statSync(path.join(dir, relative)).isDirectory() ? listFiles(dir, relative) : [relative];
  });
}

/** A strong ETag per representation: the brotli and gzip bytes are different representations of one file. */
function variant(body: Buffer, tag: string): Variant {
  const hash = createHash('sha256').update(body).digest('base64url').slice(0, 22);
  return { body, etag: `"${hash}-${tag}"` };
}

/**
 * The middleware; answers GET and HEAD for the client's files and passes everything else on untouched. Without a
 * build (API-only tests run from source) it logs once and serves nothing.
 */
export function serveWebClient(dir: string, log: Logger): Middleware<ParleyState> {
  const files = existsSync(path.join(dir, 'index.html')) ? loadClientFiles(dir) : new Map<string, StaticFile>();
  if (files.size === 0) log.warn({ dir }, 'web client not built (npm run build:web); / is not served');
  return async (ctx, next) => {
    if ((ctx.method !== 'GET' && ctx.method !== 'HEAD') || NOT_CLIENT.test(ctx.path)) return next();
    const file = files.get(ctx.path);
    if (!file) return next();
    const encoding = chooseEncoding(ctx.get('Accept-Encoding'), file);
    const chosen = file.variants[encoding] ?? file.variants.identity!;
    ctx.set({
      'Cache-Control': file.cacheControl,
      'Content-Security-Policy': WEB_CLIENT_CSP,
      'X-Content-Type-Options': 'nosniff',
      'Referrer-Policy': 'no-referrer',
      'Cross-Origin-Opener-Policy': 'same-origin',
      Vary: 'Accept-Encoding',
      ETag: chosen.etag,
    });
    if (encoding !== 'identity') ctx.set('Content-Encoding', encoding);
    ctx.status = 200;
    if (ctx.fresh) {
      ctx.status = 304;
      return;
    }
    // Koa sends headers only for HEAD; the body sets Content-Length.
    ctx.body = chosen.body;
    ctx.type = file.type;
  };
}

/**
 * The best encoding the client accepts, brotli first when it weighs both the same. Koa's acceptsEncodings breaks
 * ties by the header's order, and browsers send `gzip, deflate, br`, so they would never get brotli.
 */
export function chooseEncoding(acceptEncoding: string, file: Pick<StaticFile, 'variants'>): Encoding {
  const weights = new Map<string, number>();
  for (const part of acceptEncoding.split(',')) {
    const [name, ...params] = part.trim().toLowerCase().split(';');
    const q = params.map((param) => /^\s*q=([\d.]+)\s*$/.exec(param)?.[1]).find((value) => value !== undefined);
    if (name) weights.set(name, q === undefined ? 1 : Number(q));
  }
  let best: Encoding = 'identity';
  let bestWeight = 0;
  for (const encoding of ['br', 'gzip'] as const) {
    const weight = weights.get(encoding) ?? weights.get('*') ?? 0;
    if (file.variants[encoding] && weight > bestWeight) [best, bestWeight] = [encoding, weight];
  }
  return best;
}
