// Real-time benchmark: N socket.io clients in groups of 5 spread over 2 Parley processes (Redis Streams adapter,
// every message persisted), a steady send rate; deliveries/s, send-to-receive latency, memory per idle socket.
// The same run repeats the load against 2 bare socket.io processes (same adapter, no database) as the baseline.
//   npx tsx test/bench/realtime.ts [--clients 1000] [--rate 3000] [--seconds 10] [--db-pool 10]
// Not part of npm test. Needs PostgreSQL and Redis as for the tests (TEST_DATABASE_URL, TEST_REDIS_URL) and a build.
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { io, type Socket } from 'socket.io-client';
import { createGroup, register, type Account } from '../support/client.js';
import { freePort, startServer, stopAll } from '../support/processes.js';
import { TEST_REDIS_PREFIX, createTestServices, dropTestServices } from '../support/services.js';

const { values } = parseArgs({
  options: {
    clients: { type: 'string', default: '1000' },
    rate: { type: 'string', default: '3000' },
    seconds: { type: 'string', default: '10' },
    // DB_POOL_MAX of each Parley process: a send holds a connection from its lock to its announcement.
    'db-pool': { type: 'string', default: '10' },
  },
});
const CLIENTS = Number(values.clients);
const RATE = Number(values.rate);
const SECONDS = Number(values.seconds);
const GROUP = 5;

interface Target {
  urls: string[];
  /** Server-side view after the run (Parley only): mean message:send -> handed to the adapter, in ms. */
  serverSendMs?(): Promise<number>;
  memory(url: string): Promise<{ rss: number; heapUsed: number }>;
  auth(i: number): Record<string, string>;
  conversation(i: number): string;
}

interface Result {
  heapPerSocket: number;
  rssPerSocket: number;
  deliveriesPerSec: number;
  sendsPerSec: number;
  p50: number;
  p95: number;
  p99: number;
  ackP99: number;
  failedSends: number;
  serverSendMs?: number;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;

async function connectAll(target: Target): Promise<Socket[]> {
  const sockets: Socket[] = [];
  for (let start = 0; start < CLIENTS; start += 100) {
    const batch = Array.from({ length: Math.min(100, CLIENTS - start) }, (_, k) => {
      const i = start + k;
      const socket = io(target.urls[i % target.urls.length]!, { transports: ['websocket'], auth: target.auth(i), reconnection: false, forceNew: true });
      return new Promise<Socket>((resolve, reject) => {
        socket.once('connect', () => resolve(socket));
        socket.once('connect_error', reject);
      });
    });
    sockets.push(...(await Promise.all(batch)));
  }
  return sockets;
}

async function measure(target: Target): Promise<Result> {
  const before = await Promise.all(target.urls.map((url) => target.memory(url)));
  const sockets = await connectAll(target);
  await sleep(3000); // idle: let allocation settle
  const after = await Promise.all(target.urls.map((url) => target.memory(url)));
  const delta = (pick: 'rss' | 'heapUsed') => after.reduce((sum, m, i) => sum + m[pick] - before[i]![pick], 0) / CLIENTS;

  const latencies: number[] = [];
  const ackLatencies: number[] = [];
  let deliveries = 0;
  let failedSends = 0;
  let sends = 0;
  let measuring = false;
  for (const socket of sockets) {
    socket.on('message:new', ({ message }: { message: { body: string } }) => {
      if (!measuring) return;
      deliveries += 1;
      latencies.push(performance.now() - Number(message.body));
    });
  }
  // Each client sends on its own steady timer; together they offer RATE sends/s.
  const intervalMs = (1000 * CLIENTS) / RATE;
  let counter = 0;
  const timers = sockets.map((socket, i) =>
    setTimeout(() => {
      const timer = setInterval(() => {
        const sentAt = performance.now();
        counter += 1;
        socket
          .timeout(10_000)
          .emitWithAck('message:send', { conversationId: target.conversation(i), body: String(sentAt), clientMsgId: `b${counter}-${i}` })
          .then((ack: { ok: boolean }) => {
            if (!measuring) return;
            sends += 1;
            if (!ack.ok) failedSends += 1;
            ackLatencies.push(performance.now() - sentAt);
          }, () => (failedSends += 1));
      }, intervalMs);
      timersToClear.push(timer);
    }, Math.random() * intervalMs),
  );
  const timersToClear: NodeJS.Timeout[] = [];
  await sleep(2000); // warm-up
  measuring = true;
  const started = performance.now();
  await sleep(SECONDS * 1000);
  measuring = false;
  const elapsed = (performance.now() - started) / 1000;
  for (const timer of [...timers, ...timersToClear]) clearTimeout(timer);
  for (const timer of timersToClear) clearInterval(timer);
  await sleep(1000);
  const serverSendMs = await target.serverSendMs?.();
  for (const socket of sockets) socket.close();
  latencies.sort((x, y) => x - y);
  ackLatencies.sort((x, y) => x - y);
  return {
    heapPerSocket: delta('heapUsed'),
    rssPerSocket: delta('rss'),
    deliveriesPerSec: deliveries / elapsed,
    sendsPerSec: sends / elapsed,
    p50: percentile(latencies, 50),
    p95: percentile(latencies, 95),
    p99: percentile(latencies, 99),
    ackP99: percentile(ackLatencies, 99),
    failedSends,
    serverSendMs,
  };
}

async function parleyTarget(): Promise<Target> {
  const env = { SOCKET_EVENTS_PER_SEC: '1000', SOCKET_EVENTS_BURST: '1000', LOG_LEVEL: 'error', DB_POOL_MAX: values['db-pool'] };
  const servers = await Promise.all([startServer(env), startServer(env)]);
  const accounts: Account[] = [];
  for (let start = 0; start < CLIENTS; start += 50) {
    accounts.push(...(await Promise.all(Array.from({ length: Math.min(50, CLIENTS - start) }, () => register(servers[0]!.url)))));
  }
  const conversations: string[] = [];
  for (let g = 0; g < CLIENTS / GROUP; g++) {
    const members = accounts.slice(g * GROUP, g * GROUP + GROUP);
    conversations.push(await createGroup(servers[0]!.url, members[0]!, members.slice(1)));
  }
  return {
    urls: servers.map((s) => s.url),
    memory: async (url) => ((await (await fetch(`${url}/health`)).json()) as { memory: { rss: number; heapUsed: number } }).memory,
    auth: (i) => ({ token: accounts[i]!.accessToken }),
    async serverSendMs() {
      let sum = 0;
      let count = 0;
      for (const server of servers) {
        const text = await (await fetch(`${server.url}/health/metrics`)).text();
        sum += Number(/^parley_socket_send_to_broadcast_seconds_sum\{[^}]*\} (\S+)/m.exec(text)?.[1] ?? 0);
        count += Number(/^parley_socket_send_to_broadcast_seconds_count\{[^}]*\} (\S+)/m.exec(text)?.[1] ?? 0);
      }
      return count > 0 ? (1000 * sum) / count : NaN;
    },
    conversation: (i) => conversations[Math.floor(i / GROUP)]!,
  };
}

const bareChildren: ChildProcess[] = [];
async function bareTarget(): Promise<Target> {
  const script = fileURLToPath(new URL('./bare-server.ts', import.meta.url));
  const urls: string[] = [];
  for (let k = 0; k < 2; k++) {
    const port = await freePort();
    const child = spawn(process.execPath, ['--import', 'tsx', script], {
      env: { ...process.env, PORT: String(port), REDIS_PREFIX: `${TEST_REDIS_PREFIX}bare:` },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    bareChildren.push(child);
    await new Promise<void>((resolve) => child.on('message', () => resolve()));
    urls.push(`http://127.0.0.1:${port}`);
  }
  return {
    urls,
    memory: async (url) => ((await (await fetch(url)).json()) as { memory: { rss: number; heapUsed: number } }).memory,
    auth: (i) => ({ user: String(i), group: String(Math.floor(i / GROUP)) }),
    conversation: (i) => String(Math.floor(i / GROUP)),
  };
}

async function main(): Promise<void> {
  await createTestServices();
  try {
    const bare = await measure(await bareTarget());
    for (const child of bareChildren) child.kill('SIGINT');
    const parley = await measure(await parleyTarget());
    const kb = (bytes: number) => (bytes / 1024).toFixed(1);
    const ms = (value: number) => value.toFixed(1);
    const row = (name: string, r: Result) =>
      `| ${name} | ${r.sendsPerSec.toFixed(0)} | ${r.deliveriesPerSec.toFixed(0)} | ${ms(r.p50)} | ${ms(r.p95)} | ${ms(r.p99)} | ${ms(r.ackP99)} | ${r.failedSends} | ${kb(r.heapPerSocket)} | ${kb(r.rssPerSocket)} |`;
    console.log(`\n${CLIENTS} clients, groups of ${GROUP}, 2 processes (DB_POOL_MAX ${values['db-pool']}), offered ${RATE} sends/s for ${SECONDS} s\n`);
    console.log('| server | sends/s | deliveries/s | p50 ms | p95 ms | p99 ms | ack p99 ms | failed | heap KB/socket | RSS KB/socket |');
    console.log('| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |');
    console.log(row('bare socket.io (no DB)', bare));
    console.log(row('Parley (persisted)', parley));
    console.log(`\nParley server-side mean message:send -> adapter: ${parley.serverSendMs?.toFixed(1)} ms (whole run, warm-up included)`);
    console.log(`Parley/bare deliveries: ${(parley.deliveriesPerSec / bare.deliveriesPerSec).toFixed(2)}; heap per socket ratio: ${(parley.heapPerSocket / bare.heapPerSocket).toFixed(2)}`);
  } finally {
    for (const child of bareChildren) child.kill('SIGKILL');
    await stopAll();
    await dropTestServices();
  }
}

void main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
