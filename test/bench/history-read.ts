// History-read benchmark: the authenticated read of the latest 50 messages (~12 KB) from Parley with the history
// cache off (cold: every read asks PostgreSQL) and on (hot), against two hand-written fastify 5 + pg + jose peers
// (test/bench/peers/): one running Parley's own single statement, one the typical two queries with JSON built in
// JavaScript. Same database, same token, same page, same run; the targets run interleaved, round after round, and
// each keeps its median round. Servers are pinned to CPU 0 and this process (autocannon) to CPU 1 (--no-pin: not).
//
//   npm run build && npx tsx test/bench/history-read.ts [--duration 5] [--connections 50] [--rounds 3] [--json out.json]
//
// PARLEY_NODE_ARGS='--cpu-prof --cpu-prof-dir=/tmp/prof' profiles every server (Parley and peers). Not part of npm test.
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { table } from '../../src/capacity/report.js';
import { LOAD_CPU, pin, SERVER_CPU } from './cpu-pinning.js';
import { HTTP_BENCH_OPTIONS, machineLine, measure, median, ready, type HttpRow } from './measure.js';
import { createGroup, register, request } from '../support/client.js';
import { freePort, MAIN, serverNodeArgs } from '../support/processes.js';
import { createTestServices, dropTestServices, testEnv } from '../support/services.js';

const { values } = parseArgs({
  options: {
    ...HTTP_BENCH_OPTIONS,
    'no-pin': { type: 'boolean', default: false },
    // Only these targets (by index: 0 cold, 1 hot, 2 same-SQL peer, 3 typical peer), e.g. to profile one.
    only: { type: 'string' },
  },
});
const DURATION = Number(values.duration);
const CONNECTIONS = Number(values.connections);
const ROUNDS = Number(values.rounds);
const PIN = !values['no-pin'];
const PEERS = path.resolve(import.meta.dirname, 'peers');
const JWT_SECRET = 'bench-jwt-secret-0123456789abcdef-0123456789';

interface Target {
  name: string;
  child: ChildProcess;
  url: string;
}

function spawnTarget(args: string[], env: Record<string, string>): ChildProcess {
  const child = spawn(process.execPath, args, {
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
  });
  if (PIN) child.once('spawn', () => pin(child.pid!, SERVER_CPU));
  return child;
}

async function start(name: string, args: string[], env: Record<string, string>): Promise<Target> {
  const port = await freePort();
  const child = spawnTarget(args, { ...env, PORT: String(port) });
  await ready(child);
  if (PIN) pin(child.pid!, SERVER_CPU); // again: worker threads started since inherit nothing retroactively
  return { name, child, url: `http://127.0.0.1:${port}` };
}

const parleyEnv = (overrides: Record<string, string>) =>
  testEnv({
    NODE_ENV: 'production',
    HOST: '127.0.0.1',
    LOG_LEVEL: 'info',
    JWT_SECRET,
    SESSION_SECRET: 'bench-session-secret-0123456789abcdef-0123',
    SESSION_COOKIE_SECURE: 'false',
    RATE_LIMIT_API_PER_MIN: '100000000',
    RATE_LIMIT_AUTH_PER_MIN: '100000000',
    ...overrides,
  });

const unmeasured = (target: string): HttpRow => ({
  target,
  endpoint: '-',
  rps: NaN,
  avg: NaN,
  p50: NaN,
  p95: NaN,
  p99: NaN,
  cpu: NaN,
  cpuUsPerRequest: NaN,
  rssMb: NaN,
  errors: 0,
  non2xx: 0,
});

async function main(): Promise<void> {
  await createTestServices();
  if (PIN) pin(process.pid, LOAD_CPU);
  const targets: Target[] = [];
  const rows: HttpRow[] = [];
  const started = new Date().toISOString();
  try {
    const parley = [...serverNodeArgs(), MAIN];
    targets.push(await start('Parley, cache off (cold)', parley, parleyEnv({ HISTORY_CACHE_CONVERSATIONS: '0' })));
    targets.push(await start('Parley, cache on (hot)', parley, parleyEnv({})));
    const peerEnv = { DATABASE_URL: testEnv().DATABASE_URL!, JWT_SECRET };
    targets.push(
      await start(
        'fastify peer, same SQL (json_agg)',
        [...serverNodeArgs(), '--import', 'tsx', path.join(PEERS, 'fastify-same-sql.ts')],
        peerEnv,
      ),
    );
    targets.push(
      await start(
        'fastify peer, typical two queries',
        [...serverNodeArgs(), '--import', 'tsx', path.join(PEERS, 'fastify-two-queries.ts')],
        peerEnv,
      ),
    );

    // The data: one group, 60 messages of ~100 characters, read 50 at a time (newest first).
    const base = targets[0]!.url;
    const owner = await register(base);
    const conversationId = await createGroup(base, owner, [await register(base)]);
    for (let i = 0; i < 60; i += 1)
      await request(base, 'POST', `/api/conversations/${conversationId}/messages`, {
        token: owner.accessToken,
        body: { body: `message ${i} `.repeat(8), clientMsgId: `bench-${i}` },
      });
    const page = `/api/conversations/${conversationId}/messages?limit=50`;
    // Same page everywhere: every target answers the same 50 messages (byte size may differ: PostgreSQL's JSON spacing).
    const reference = await request(base, 'GET', page, { token: owner.accessToken });
    for (const target of targets) {
      const reply = await request(target.url, 'GET', page, { token: owner.accessToken });
      if (
        reply.status !== 200 ||
        JSON.stringify(reply.body) !== JSON.stringify(reference.body) ||
        reply.body.messages.length !== 50
      )
        throw new Error(`${target.name} answered ${reply.status} with a different page`);
    }

    const measured = values.only ? values.only.split(',').map((index) => targets[Number(index)]!) : targets;
    const runs = new Map<string, HttpRow[]>();
    const headers = { authorization: `Bearer ${owner.accessToken}` };
    for (let round = 0; round < ROUNDS; round += 1)
      for (const target of measured) {
        const row = await measure(
          target.name,
          'GET 50 messages (auth)',
          { url: target.url + page, headers, connections: CONNECTIONS, durationSec: DURATION },
          () => [target.child.pid!],
        );
        runs.set(target.name, [...(runs.get(target.name) ?? []), row]);
      }
    for (const target of targets)
      rows.push(runs.has(target.name) ? median(runs.get(target.name)!) : unmeasured(target.name));
  } finally {
    for (const target of targets) target.child.kill('SIGINT');
    await Promise.all(
      targets.map(
        (target) =>
          new Promise((resolve) =>
            target.child.exitCode !== null ? resolve(null) : target.child.once('exit', resolve),
          ),
      ),
    );
    await dropTestServices();
  }

  const [cold, hot, sameSql, typical] = rows as [HttpRow, HttpRow, HttpRow, HttpRow];
  const command = `npx tsx test/bench/history-read.ts --duration ${DURATION} --connections ${CONNECTIONS} --rounds ${ROUNDS}${PIN ? '' : ' --no-pin'}`;
  const targetsMet = {
    coldVsSameSql: { ratio: cold.rps / sameSql.rps, goal: 1.0, met: cold.rps / sameSql.rps >= 1.0 },
    hotVsTypical: { ratio: hot.rps / typical.rps, goal: 2.0, met: hot.rps / typical.rps >= 2.0 },
    hotP99Ms: { value: hot.p99, goal: 20, met: hot.p99 <= 20 },
  };
  const print = table(
    [
      'target',
      'req/s',
      'vs same-SQL peer',
      'vs typical peer',
      'avg ms',
      'p50 ms',
      'p95 ms',
      'p99 ms',
      'CPU %',
      'CPU us/req',
      'RSS MB',
      'errors',
      'non-2xx',
    ],
    rows.map((row) => [
      row.target,
      row.rps,
      (row.rps / sameSql.rps).toFixed(2),
      (row.rps / typical.rps).toFixed(2),
      row.avg.toFixed(2),
      row.p50,
      row.p95,
      row.p99,
      row.cpu,
      row.cpuUsPerRequest,
      row.rssMb,
      row.errors,
      row.non2xx,
    ]),
  );
  process.stdout.write(
    `\n${command}  (${started})\nmachine: ${machineLine()}${PIN ? '; servers on CPU 0, autocannon on CPU 1' : ''}\n` +
      `each row: the median of ${ROUNDS} interleaved rounds of ${DURATION} s at ${CONNECTIONS} connections; CPU % of one core\n\n${print}\n\n` +
      `targets: cold ${targetsMet.coldVsSameSql.ratio.toFixed(2)}x the same-SQL peer (>= 1.0: ${targetsMet.coldVsSameSql.met ? 'met' : 'MISSED'}); ` +
      `hot ${targetsMet.hotVsTypical.ratio.toFixed(2)}x the typical peer (>= 2.0: ${targetsMet.hotVsTypical.met ? 'met' : 'MISSED'}), ` +
      `p99 ${hot.p99} ms (<= 20: ${targetsMet.hotP99Ms.met ? 'met' : 'MISSED'})\n`,
  );
  if (values.json)
    writeFileSync(
      values.json,
      JSON.stringify(
        { benchmark: 'history-read', command, started, machine: machineLine(), pinned: PIN, rows, targets: targetsMet },
        null,
        2,
      ),
    );
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});
