// One POST of a webhook delivery: signed, bounded in time, and classified so the job knows whether to retry.
// node:http rather than fetch: the SSRF guard has to choose the address the socket connects to (`lookup`), which
// the built-in fetch cannot be given without a second copy of undici.
import { createHmac } from 'node:crypto';
import http from 'node:http';
import https from 'node:https';
import pLimit, { type LimitFunction } from 'p-limit';
import { publicOnlyLookup } from './webhook-target.js';

export const SIGNATURE_HEADER = 'X-Parley-Signature';

/** `sha256=<hex HMAC-SHA256 of the raw body>`, as receivers verify it (docs/jobs.md). */
export const signature = (secret: string, body: string): string =>
  `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;

export type PostOutcome =
  | { ok: true; status: number }
  /** Worth another attempt: timeout, network failure, 5xx, 429. */
  | { ok: false; retry: true; reason: string; retryAfterMs?: number }
  /** Another attempt would get the same answer: other 4xx, a refused address. */
  | { ok: false; retry: false; reason: string };

export interface WebhookSettings {
  url: string;
  secret: string;
  timeoutMs: number;
  allowPrivate: boolean;
}

/** How much of an answer is read: receivers answer with a status; a large body is only drained. */
const MAX_ANSWER_BYTES = 4_096;

/** What a POST that never started answers when the client closes: the delivery is retried, by any process. */
const STOPPED: PostOutcome = { ok: false, retry: true, reason: 'the jobs app stopped before this attempt' };

export class WebhookClient {
  private readonly agent: http.Agent;
  private readonly target: URL;
  // POSTs in flight, at most one per connection: a job carries many deliveries, and one waiting for a connection
  // must not spend its timeout waiting.
  private readonly inFlight: LimitFunction;
  private closed = false;

  constructor(
    private readonly settings: WebhookSettings,
    maxSockets: number,
  ) {
    this.inFlight = pLimit(maxSockets);
    this.target = new URL(settings.url);
    const Agent = this.target.protocol === 'https:' ? https.Agent : http.Agent;
    this.agent = new Agent({
      keepAlive: true,
      maxSockets,
      ...(settings.allowPrivate ? {} : { lookup: publicOnlyLookup }),
    });
  }

  post(body: string, deliveryId: string): Promise<PostOutcome> {
    return this.inFlight(() => (this.closed ? STOPPED : this.postNow(body, deliveryId)));
  }

  private postNow(body: string, deliveryId: string): Promise<PostOutcome> {
    const request = this.target.protocol === 'https:' ? https.request : http.request;
    return new Promise<PostOutcome>((resolve) => {
      const req = request(this.target, {
        method: 'POST',
        agent: this.agent,
        headers: {
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(body),
          'user-agent': 'parley-webhook',
          [SIGNATURE_HEADER]: signature(this.settings.secret, body),
          'X-Parley-Delivery': deliveryId,
        },
      });
      // The whole exchange, connection included, within the timeout: a receiver that never answers is a retry. A
      // timer cleared on the answer, not AbortSignal.timeout: that one lives its full timeout after every POST, and
      // thousands alive at once cost the jobs app more timer work than the POSTs themselves (docs/jobs.md).
      let timedOut = false;
      const timer = setTimeout(() => {
        timedOut = true;
        req.destroy(new Error('webhook timeout'));
      }, this.settings.timeoutMs);
      req.on('response', (res) => {
        clearTimeout(timer);
        let read = 0;
        res.on('data', (chunk: Buffer) => {
          read += chunk.length;
          if (read > MAX_ANSWER_BYTES) res.destroy();
        });
        res.on('error', () => undefined);
        res.resume();
        resolve(classify(res.statusCode ?? 0, res.headers['retry-after']));
      });
      req.on('error', (error: NodeJS.ErrnoException) => {
        clearTimeout(timer);
        if (error.code === 'EWEBHOOKREFUSED') return resolve({ ok: false, retry: false, reason: error.message });
        resolve({
          ok: false,
          retry: true,
          reason: timedOut
            ? `timed out after ${this.settings.timeoutMs} ms`
            : `${error.code ?? 'error'}: ${error.message}`,
        });
      });
      req.end(body);
    });
  }

  /** Aborts the POSTs in flight (each a failed attempt, retried) and answers those still waiting the same way. */
  close(): void {
    this.closed = true;
    this.agent.destroy();
  }
}

export function classify(status: number, retryAfter: string | undefined, now = Date.now()): PostOutcome {
  if (status >= 200 && status < 300) return { ok: true, status };
  if (status === 429 || status >= 500) {
    const retryAfterMs = parseRetryAfter(retryAfter, now);
    return {
      ok: false,
      retry: true,
      reason: `HTTP ${status}`,
      ...(retryAfterMs !== undefined ? { retryAfterMs } : {}),
    };
  }
  return { ok: false, retry: false, reason: `HTTP ${status}` };
}

/**
 * Retry-After as delay-seconds or an HTTP date (RFC 9110 10.2.3), in ms from now; undefined when absent or unreadable.
 */
export function parseRetryAfter(value: string | undefined, now = Date.now()): number | undefined {
  if (!value) return undefined;
  const text = value.trim();
  if (/^\d+$/.test(text)) return Number(text) * 1_000;
  const at = Date.parse(text);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

/**
 * Wait before attempt `attemptsMade + 1`: exponential from `baseMs`, capped at `maxMs`, with "equal jitter" (half
 * fixed, half random) so receivers coming back from an outage are not hit by every delivery at once; never sooner
 * than the receiver's Retry-After.
 */
export function backoffMs(
  attemptsMade: number,
  settings: { backoffBaseMs: number; backoffMaxMs: number },
  retryAfterMs = 0,
  random = Math.random,
): number {
  const exponential = Math.min(settings.backoffMaxMs, settings.backoffBaseMs * 2 ** Math.max(0, attemptsMade - 1));
  const jittered = exponential / 2 + random() * (exponential / 2);
  return Math.round(Math.max(jittered, retryAfterMs));
}
