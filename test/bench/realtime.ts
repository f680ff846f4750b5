// Real-time benchmark: N socket.io clients in groups of 5 spread over 2 Parley processes (Redis Streams adapter,
// every message persisted), a steady send rate; deliveries/s, send-to-receive latency, memory per idle socket.
// The same run first puts the same load on 2 bare socket.io processes (same adapter, no database) as the baseline.
// The clients live in `--load-procs` forked load processes (realtime-load.ts; whole groups each), the same way for
// both servers; the CPU each side used during the window is printed, so a saturated load generator shows.
//   npx tsx test/bench/realtime.ts [--clients 1000] [--rate 3000] [--seconds 10] [--db-pool 10] [--load-procs 1] [--pin]
// Not part of npm test. Needs PostgreSQL and Redis as for the tests (TEST_DATABASE_URL, TEST_REDIS_URL) and a build.
import { fork, spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import type { FromLoad, LoadClient, LoadReport, ToLoad } from './realtime-load.js';
import { createGroup, register, type Account } from '../support/client.js';
import { LOAD_CPU, SERVER_CPU, pin, pinServices } from './cpu-pinning.js';
import { machineBusyMs, pidsNamed, processCpuMs } from './proc-cpu.js';
import { freePort, serverNodeArgs, startServer, stopAll } from '../support/processes.js';
import { HEALTH_DETAIL, TEST_REDIS_PREFIX, createTestServices, dropTestServices } from '../support/services.js';

const { values } = parseArgs({
  options: {
    clients: { type: 'string', default: '1000' },
    rate: { type: 'string', default: '3000' },
    seconds: { type: 'string', default: '10' },
    // DB_POOL_MAX of each Parley process: a send holds a connection from its lock to its announcement.
    'db-pool': { type: 'string', default: '10' },
    // Load-generator processes; each holds whole groups.
    'load-procs': { type: 'string', default: '1' },
    // Extra environment for the Parley processes, e.g. --env SEND_BATCH_MAX=1 (repeatable).
    env: { type: 'string', multiple: true, default: [] },
    // Further Parley configurations measured in the same run, e.g. --variant 'unbatched:SEND_BATCH_MAX=1' (repeatable).
    variant: { type: 'string', multiple: true, default: [] },
    // The target's layout: servers, PostgreSQL and Redis on CPU 0, the load processes on CPU 1 (taskset).
    pin: { type: 'boolean', default: false },
  },
});
const CLIENTS = Number(values.clients);
const RATE = Number(values.rate);
const SECONDS = Number(values.seconds);
const GROUP = 5;
const LOAD_PROCS = Number(values['load-procs']);
const PIN = values.pin;
const envOf = (pairs: string[]) => Object.fromEntries(pairs.map((pair) => pair.split('=', 2) as [string, string]));
const VARIANTS = [
  { name: 'Parley (persisted)', env: envOf(values.env) },
  ...values.variant.map((spec) => {
    const [name, pairs = ''] = spec.split(':', 2) as [string, string?];
    return { name: `Parley ${name}`, env: { ...envOf(values.env), ...envOf(pairs.split(',').filter(Boolean)) } };
  }),
];

interface Target {
  urls: string[];
  /** The server processes, for their CPU time. */
  pids: number[];
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
  /** CPU used during the measured window, in % of one core. */
  cpu: { load: number; servers: number; postgres: number; redis: number; machineBusy: number };
}

const percentile = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;

// CPU time from /proc (Linux), in ms: of given processes, of every process with a given name (postgres and redis
// serve the other engineers' runs too on this shared machine), and of the whole machine (busy, all cores).
/** CPU time per pid of every process with this name. */
function namedCpuMs(name: string): Map<number, number> {
  return new Map(pidsNamed(name).map((pid) => [pid, processCpuMs(pid)]));
}
/** What the processes alive at the end used since `before` (those that exited meanwhile are not counted). */
function namedDelta(before: Map<number, number>, after: Map<number, number>): number {
  let total = 0;
  for (const [pid, ms] of after) total += ms - (before.get(pid) ?? 0);
  return total;
}
const cpuSnapshot = (pids: number[]) => ({
  servers: pids.reduce((sum, pid) => sum + processCpuMs(pid), 0),
  postgres: namedCpuMs('postgres'),
  redis: namedCpuMs('redis-server'),
  machineBusy: machineBusyMs(),
});

const LOAD_SCRIPT = fileURLToPath(new URL('./realtime-load.ts', import.meta.url));

/** Forks the load processes; process k gets the clients of every group g with g % procs == k. */
async function startLoad(
  target: Target,
): Promise<{ procs: ChildProcess[]; send(message: ToLoad): void; reports(): Promise<LoadReport[]> }> {
  const procs = Array.from({ length: LOAD_PROCS }, () =>
    fork(LOAD_SCRIPT, [], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] }),
  );
  loadChildren.push(...procs);
  if (PIN) for (const proc of procs) pin(proc.pid!, LOAD_CPU);
  const next = (proc: ChildProcess) =>
    new Promise<FromLoad>((resolve, reject) => {
      proc.once('message', (message: FromLoad) =>
        message.type === 'error' ? reject(new Error(message.message)) : resolve(message),
      );
      proc.once('exit', (code) => reject(new Error(`load process exited with ${code}`)));
    });
  const connected = procs.map(next);
  procs.forEach((proc, k) => {
    const clients: LoadClient[] = [];
    for (let i = 0; i < CLIENTS; i++) {
      if (Math.floor(i / GROUP) % LOAD_PROCS !== k) continue;
      clients.push({
        url: target.urls[i % target.urls.length]!,
        auth: target.auth(i),
        conversationId: target.conversation(i),
      });
    }
    proc.send({ type: 'connect', clients } satisfies ToLoad);
  });
  await Promise.all(connected);
  return {
    procs,
    send: (message) => procs.forEach((proc) => proc.send(message)),
    async reports() {
      const replies = procs.map(next);
      procs.forEach((proc) => proc.send({ type: 'stop' } satisfies ToLoad));
      const reports = (await Promise.all(replies)).map((message) => (message as { report: LoadReport }).report);
      for (const proc of procs) proc.kill();
      return reports;
    },
  };
}

async function measure(target: Target): Promise<Result> {
  if (PIN) for (const pid of target.pids) pin(pid, SERVER_CPU);
  const before = await Promise.all(target.urls.map((url) => target.memory(url)));
  const load = await startLoad(target);
  await sleep(3000); // idle: let allocation settle
  const after = await Promise.all(target.urls.map((url) => target.memory(url)));
  const delta = (pick: 'rss' | 'heapUsed') =>
    after.reduce((sum, m, i) => sum + m[pick] - before[i]![pick], 0) / CLIENTS;

  // Each load process offers its share of RATE (in proportion to its clients).
  load.procs.forEach((proc, k) => {
    const mine = Array.from({ length: CLIENTS }, (_, i) => i).filter(
      (i) => Math.floor(i / GROUP) % LOAD_PROCS === k,
    ).length;
    proc.send({ type: 'send', rate: (RATE * mine) / CLIENTS } satisfies ToLoad);
  });
  await sleep(2000); // warm-up
  load.send({ type: 'measure', on: true });
  const cpuBefore = cpuSnapshot(target.pids);
  const started = performance.now();
  await sleep(SECONDS * 1000);
  load.send({ type: 'measure', on: false });
  const elapsed = (performance.now() - started) / 1000;
  const cpuAfter = cpuSnapshot(target.pids);
  await sleep(1000);
  const serverSendMs = await target.serverSendMs?.();
  const reports = await load.reports();
  const latencies = reports.flatMap((r) => r.latencies).sort((x, y) => x - y);
  const ackLatencies = reports.flatMap((r) => r.ackLatencies).sort((x, y) => x - y);
  const sum = (pick: (r: LoadReport) => number) => reports.reduce((total, r) => total + pick(r), 0);
  const percentOfCore = (ms: number) => ms / (elapsed * 10);
  return {
    heapPerSocket: delta('heapUsed'),
    rssPerSocket: delta('rss'),
    deliveriesPerSec: sum((r) => r.deliveries) / elapsed,
    sendsPerSec: sum((r) => r.sends) / elapsed,
    p50: percentile(latencies, 50),
    p95: percentile(latencies, 95),
    p99: percentile(latencies, 99),
    ackP99: percentile(ackLatencies, 99),
    failedSends: sum((r) => r.failedSends),
    serverSendMs,
    cpu: {
      load: percentOfCore(sum((r) => r.cpuMs)),
      servers: percentOfCore(cpuAfter.servers - cpuBefore.servers),
      postgres: percentOfCore(namedDelta(cpuBefore.postgres, cpuAfter.postgres)),
      redis: percentOfCore(namedDelta(cpuBefore.redis, cpuAfter.redis)),
      machineBusy: percentOfCore(cpuAfter.machineBusy - cpuBefore.machineBusy),
    },
  };
}

async function parleyTarget(extraEnv: Record<string, string>): Promise<Target> {
  // A deep hashing queue: setup registers 50 users at a time, which the default queue (16) answers with 503. Every
  // client connects from 127.0.0.1 at once: the per-address cap on pending handshakes must let them all in.
  const env = {
    SOCKET_EVENTS_PER_SEC: '1000',
    SOCKET_EVENTS_BURST: '1000',
    LOG_LEVEL: 'error',
    DB_POOL_MAX: values['db-pool'],
    PISCINA_MAX_QUEUE: '1000',
    SOCKET_PENDING_PER_IP: String(CLIENTS),
    ...extraEnv,
  };
  const servers = await Promise.all([startServer(env), startServer(env)]);
  const accounts: Account[] = [];
  for (let start = 0; start < CLIENTS; start += 50) {
    accounts.push(
      ...(await Promise.all(Array.from({ length: Math.min(50, CLIENTS - start) }, () => register(servers[0]!.url)))),
    );
  }
  const conversations: string[] = [];
  for (let g = 0; g < CLIENTS / GROUP; g++) {
    const members = accounts.slice(g * GROUP, g * GROUP + GROUP);
    conversations.push(await createGroup(servers[0]!.url, members[0]!, members.slice(1)));
  }
  return {
    urls: servers.map((s) => s.url),
    pids: servers.map((s) => s.child.pid!),
    memory: async (url) =>
      (
        (await (await fetch(`${url}/health`, { headers: HEALTH_DETAIL })).json()) as {
          memory: { rss: number; heapUsed: number };
        }
      ).memory,
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
const loadChildren: ChildProcess[] = [];
async function bareTarget(): Promise<Target> {
  const script = fileURLToPath(new URL('./bare-server.ts', import.meta.url));
  const urls: string[] = [];
  for (let k = 0; k < 2; k++) {
    const port = await freePort();
    const child = spawn(process.execPath, [...serverNodeArgs(), '--import', 'tsx', script], {
      env: { ...process.env, PORT: String(port), REDIS_PREFIX: `${TEST_REDIS_PREFIX}bare:` },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    bareChildren.push(child);
    await new Promise<void>((resolve) => child.on('message', () => resolve()));
    urls.push(`http://127.0.0.1:${port}`);
  }
  return {
    urls,
    pids: bareChildren.map((child) => child.pid!),
    memory: async (url) => ((await (await fetch(url)).json()) as { memory: { rss: number; heapUsed: number } }).memory,
    auth: (i) => ({ user: String(i), group: String(Math.floor(i / GROUP)) }),
    conversation: (i) => String(Math.floor(i / GROUP)),
  };
}

async function main(): Promise<void> {
  const unpinServices = PIN ? pinServices() : () => undefined;
  await createTestServices();
  try {
    const bare = await measure(await bareTarget());
    // Gracefully and waited for, so a server run with PARLEY_NODE_ARGS=--cpu-prof writes its profile.
    await Promise.all(
      bareChildren.map((child) => new Promise((resolve) => child.once('exit', resolve).kill('SIGINT'))),
    );
    const parleys: Array<[string, Result]> = [];
    for (const variant of VARIANTS) {
      parleys.push([variant.name, await measure(await parleyTarget(variant.env))]);
      // Gracefully, so a server run with PARLEY_NODE_ARGS=--cpu-prof writes its profile.
      await stopAll('SIGINT');
    }
    const kb = (bytes: number) => (bytes / 1024).toFixed(1);
    const ms = (value: number) => value.toFixed(1);
    const row = (name: string, r: Result) =>
      `| ${name} | ${r.sendsPerSec.toFixed(0)} | ${r.deliveriesPerSec.toFixed(0)} | ${(r.deliveriesPerSec / bare.deliveriesPerSec).toFixed(2)} | ${ms(r.p50)} | ${ms(r.p95)} | ${ms(r.p99)} | ${ms(r.ackP99)} | ${r.failedSends} | ${kb(r.heapPerSocket)} | ${kb(r.rssPerSocket)} |`;
    const extra = values.env.length > 0 ? `, ${values.env.join(' ')}` : '';
    const layout = PIN ? `; servers, PostgreSQL and Redis pinned to CPU ${SERVER_CPU}, load to CPU ${LOAD_CPU}` : '';
    console.log(
      `\n${CLIENTS} clients in ${LOAD_PROCS} load process(es), groups of ${GROUP}, 2 server processes (DB_POOL_MAX ${values['db-pool']}${extra}), offered ${RATE} sends/s for ${SECONDS} s${layout}\n`,
    );
    console.log(
      '| server | sends/s | deliveries/s | vs bare | p50 ms | p95 ms | p99 ms | ack p99 ms | failed | heap KB/socket | RSS KB/socket |',
    );
    console.log('| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |');
    console.log(row('bare socket.io (no DB)', bare));
    for (const [name, result] of parleys) console.log(row(name, result));
    const cpu = (name: string, r: Result) =>
      `${name}: load ${r.cpu.load.toFixed(0)}%, servers ${r.cpu.servers.toFixed(0)}%, postgres ${r.cpu.postgres.toFixed(0)}%, redis ${r.cpu.redis.toFixed(0)}%, machine busy ${r.cpu.machineBusy.toFixed(0)}% of 200%`;
    console.log('\nCPU during the window (% of one core; postgres and redis summed machine-wide, approximate):');
    for (const [name, result] of [['bare', bare] as [string, Result], ...parleys])
      console.log(`  ${cpu(name, result)}`);
    for (const [name, result] of parleys) {
      console.log(
        `${name}: server-side mean message:send -> adapter ${result.serverSendMs?.toFixed(1)} ms (whole run, warm-up included); heap per socket vs bare ${(result.heapPerSocket / bare.heapPerSocket).toFixed(2)}`,
      );
    }
  } finally {
    for (const child of [...bareChildren, ...loadChildren]) child.kill('SIGKILL');
    await stopAll();
    await dropTestServices();
    unpinServices();
  }
}

void main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
