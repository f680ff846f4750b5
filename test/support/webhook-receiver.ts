// A real HTTP receiver for the notification webhook, on a spare port: records every POST (raw body, headers, time),
// verifies its signature as docs/jobs.md tells receivers to, and answers as the test says (status, Retry-After,
// a delay, or never).
import { createHmac, timingSafeEqual } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { OfflineNotification } from '../../src/contract/jobs.js';

export interface Received {
  at: number;
  raw: string;
  body: OfflineNotification;
  signature: string | undefined;
  verified: boolean;
  /** The status answered; undefined when the receiver never answered (or the sender hung up first). */
  answered?: number;
}

export type Answer = { status: number; retryAfter?: string; delayMs?: number } | 'hang';

export interface WebhookReceiver {
  url: string;
  received: Received[];
  /** How to answer the n-th POST (0-based, over all POSTs) of this delivery id (its attempt number). */
  answer: (attempt: number, body: Received['body']) => Answer;
  /** Received by user, answered 2xx. */
  deliveredTo(userId: string): Received[];
  close(): Promise<void>;
}

export function verifySignature(secret: string, raw: string, header: string | undefined): boolean {
  const expected = Buffer.from(`sha256=${createHmac('sha256', secret).update(raw).digest('hex')}`);
  const given = Buffer.from(header ?? '');
  return given.length === expected.length && timingSafeEqual(given, expected);
}

export async function startWebhookReceiver(secret: string): Promise<WebhookReceiver> {
  const attempts = new Map<string, number>();
  const hung = new Set<http.ServerResponse>();
  const receiver: WebhookReceiver = {
    url: '',
    received: [],
    answer: () => ({ status: 204 }),
    deliveredTo: (userId) =>
      receiver.received.filter((r) => r.body.userId === userId && r.answered !== undefined && r.answered < 300),
    async close() {
      for (const res of hung) res.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const raw = Buffer.concat(chunks).toString('utf8');
      const signature = req.headers['x-parley-signature'] as string | undefined;
      const record: Received = {
        at: Date.now(),
        raw,
        body: JSON.parse(raw),
        signature,
        verified: verifySignature(secret, raw, signature),
      };
      receiver.received.push(record);
      const attempt = attempts.get(record.body.deliveryId) ?? 0;
      attempts.set(record.body.deliveryId, attempt + 1);
      const answer = receiver.answer(attempt, record.body);
      if (answer === 'hang') {
        hung.add(res);
        res.on('close', () => hung.delete(res));
        return;
      }
      const respond = () => {
        if (res.destroyed) return;
        if (answer.retryAfter) res.setHeader('Retry-After', answer.retryAfter);
        res.statusCode = answer.status;
        res.end();
        // Counted as answered once written: a sender that died first never saw it.
        res.on('finish', () => (record.answered = answer.status));
      };
      if (answer.delayMs) setTimeout(respond, answer.delayMs);
      else respond();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  receiver.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks/parley`;
  return receiver;
}
