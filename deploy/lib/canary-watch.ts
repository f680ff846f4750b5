// The canary's health signal, measured on the canary host directly (its private address), while real traffic
// flows through nginx as usual: two probe users in a group send over HTTP and over a socket on the canary, a
// socket on another host must receive each message (cross-host delivery), history reads must answer, and at the
// end `sync` on the canary must return every acked message once, in seq order (chat continuity).
// The probe users are real accounts named canary_<random>; they stay (a deploy's audit trail).
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { io, type Socket } from 'socket.io-client';
import type { Host } from './hosts.js';

export interface WatchResult {
  attempts: number;
  failures: string[];
  errorRate: number;
  /** Problems with delivery or sync: any one fails the canary. */
  continuity: string[];
}

export interface WatchOptions {
  durationMs: number;
  intervalMs: number;
}

const hostUrl = (host: Host) => `http://${host.address}:${host.port}`;

export async function watchCanary(canary: Host, other: Host, options: WatchOptions): Promise<WatchResult> {
  const failures: string[] = [];
  const continuity: string[] = [];
  let attempts = 0;
  const attempt = async (what: string, work: () => Promise<void>) => {
    attempts += 1;
    try {
      await work();
    } catch (error) {
      failures.push(`${what}: ${(error as Error).message}`);
    }
  };

  const base = hostUrl(canary);
  const sender = await register(base);
  const receiver = await register(base);
  const conversation = await call(base, 'POST', '/api/conversations', sender.accessToken, {
    kind: 'group',
    title: 'canary',
    memberIds: [receiver.user.id],
  });
  const conversationId: string = conversation.conversation.id;
  const onCanary = await connect(base, sender.accessToken);
  const onOther = await connect(hostUrl(other), receiver.accessToken);
  const received = new Set<string>();
  onOther.on('message:new', ({ message }: { message: { id: string } }) => received.add(message.id));
  const acked: Array<{ id: string; seq: number }> = [];

  try {
    const until = Date.now() + options.durationMs;
    for (let round = 0; Date.now() < until; round += 1) {
      const tag = `${round}-${randomBytes(3).toString('hex')}`;
      await attempt('HTTP send', async () => {
        const { message } = await call(
          base,
          'POST',
          `/api/conversations/${conversationId}/messages`,
          sender.accessToken,
          {
            body: `canary http ${tag}`,
            clientMsgId: `canary-http-${tag}`,
          },
        );
        acked.push(message);
      });
      await attempt('socket send', async () => {
        const ack = await onCanary.timeout(5_000).emitWithAck('message:send', {
          conversationId,
          body: `canary socket ${tag}`,
          clientMsgId: `canary-socket-${tag}`,
        });
        if (!ack.ok) throw new Error(JSON.stringify(ack.error));
        acked.push(ack.message);
      });
      await attempt('history read', async () => {
        await call(base, 'GET', `/api/conversations/${conversationId}/messages?limit=50`, sender.accessToken);
      });
      await sleep(options.intervalMs);
    }
    // Delivery to the other host's socket.
    const deadline = Date.now() + 5_000;
    while (Date.now() < deadline && acked.some((message) => !received.has(message.id))) await sleep(100);
    const missing = acked.filter((message) => !received.has(message.id));
    if (missing.length > 0)
      continuity.push(`${missing.length} of ${acked.length} acked messages never reached ${other.name}`);
    // Continuity: sync from the start returns exactly what was acked.
    const sync = await onCanary.timeout(10_000).emitWithAck('sync', { cursors: { [conversationId]: 0 } });
    if (!sync.ok) continuity.push(`sync failed: ${JSON.stringify(sync.error)}`);
    else {
      const seqs: number[] = sync.messages.map((message: { seq: number }) => message.seq);
      const ids = new Set<string>(sync.messages.map((message: { id: string }) => message.id));
      const lost = acked.filter((message) => !ids.has(message.id));
      if (lost.length > 0) continuity.push(`sync is missing ${lost.length} acked messages`);
      if (new Set(seqs).size !== seqs.length) continuity.push('sync returned a message twice');
      if (seqs.some((seq, index) => index > 0 && seq <= seqs[index - 1]!)) continuity.push('sync is out of seq order');
    }
  } finally {
    onCanary.close();
    onOther.close();
  }
  return { attempts, failures, errorRate: attempts === 0 ? 1 : failures.length / attempts, continuity };
}

async function call(base: string, method: string, path: string, token?: string, body?: unknown): Promise<any> {
  const response = await fetch(base + path, {
    method,
    headers: {
      ...(token ? { authorization: `Bearer ${token}` } : {}),
      ...(body ? { 'content-type': 'application/json' } : {}),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(5_000),
  });
  const text = await response.text();
  if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${text.slice(0, 200)}`);
  return text ? JSON.parse(text) : undefined;
}

function register(base: string): Promise<{ user: { id: string }; accessToken: string }> {
  return call(base, 'POST', '/api/auth/register', undefined, {
    username: `canary_${randomBytes(5).toString('hex')}`,
    password: randomBytes(12).toString('hex'),
  });
}

function connect(url: string, token: string): Promise<Socket> {
  const socket = io(url, {
    transports: ['websocket'],
    auth: { token },
    reconnection: true,
    forceNew: true,
    timeout: 5_000,
  });
  return new Promise((resolve, reject) => {
    socket.once('connect', () => resolve(socket));
    socket.once('connect_error', (error) => {
      socket.close();
      reject(new Error(`socket to ${url}: ${error.message}`));
    });
  });
}
