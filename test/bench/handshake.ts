// Handshake of a user with 5,000 conversations: connect time and server memory per socket, bounded (the shipped
// SOCKET_HANDSHAKE_CONVERSATIONS=1000) against unbounded (every conversation joined, as before), with a user of 10
// conversations as the baseline, all in one run on one database, the servers interleaved round by round.
//
//   npm run build && npx tsx test/bench/handshake.ts        (not part of `npm test`; PostgreSQL and Redis as for the tests)
//
// Environment: BENCH_SOCKETS (held open at once per case, default 100), BENCH_ROUNDS (default 3), BENCH_CONVERSATIONS (default 5000).
import { performance } from 'node:perf_hooks';
import pg from 'pg';
import { register, request, type Account } from '../support/client.js';
import { startServer, stopAll, type ServerProcess } from '../support/processes.js';
import { HEALTH_DETAIL, createTestDatabase, dropTestDatabase, testDatabaseUrl } from '../support/services.js';
import { closeAllClients, connect } from '../support/sockets.js';

const SOCKETS = Number(process.env.BENCH_SOCKETS ?? 100);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const MANY = Number(process.env.BENCH_CONVERSATIONS ?? 5_000);
const FEW = 10;

const percentile = (values: number[], p: number): number => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
};
const median = (values: number[]) => percentile(values, 50);

async function memory(server: ServerProcess): Promise<{ rss: number; heapUsed: number }> {
  return (await request(server.url, 'GET', '/health', { headers: HEALTH_DETAIL })).body.memory;
}

/** Opens SOCKETS sockets one after another, timing each, and reads the server's memory before and with them open. */
async function run(
  server: ServerProcess,
  who: Account,
): Promise<{ p50: number; p99: number; heapPerSocketKb: number; rssPerSocketKb: number }> {
  const before = await memory(server);
  const times: number[] = [];
  for (let i = 0; i < SOCKETS; i++) {
    const started = performance.now();
    await connect(server.url, { token: who.accessToken });
    times.push(performance.now() - started);
  }
  const after = await memory(server);
  closeAllClients();
  await new Promise((resolve) => setTimeout(resolve, 3_000)); // presence grace, so the next case starts from zero
  return {
    p50: median(times),
    p99: percentile(times, 99),
    heapPerSocketKb: (after.heapUsed - before.heapUsed) / SOCKETS / 1024,
    rssPerSocketKb: (after.rss - before.rss) / SOCKETS / 1024,
  };
}

async function main(): Promise<void> {
  await createTestDatabase();
  try {
    const env = { SOCKET_MAX_PER_USER: String(SOCKETS * 2), RATE_LIMIT_API_PER_MIN: '1000000' };
    const bounded = await startServer(env);
    const unbounded = await startServer({ ...env, SOCKET_HANDSHAKE_CONVERSATIONS: String(MANY * 10) });
    const [many, few] = await Promise.all([register(bounded.url), register(bounded.url)]);
    const db = new pg.Client({ connectionString: testDatabaseUrl() });
    await db.connect();
    for (const [who, count] of [
      [many, MANY],
      [few, FEW],
    ] as const) {
      await db.query(
        `WITH c AS (INSERT INTO conversations (kind, title, created_by) SELECT 'group', 'c' || g, $1 FROM generate_series(1, $2) g RETURNING id)
         INSERT INTO conversation_members (conversation_id, user_id, role) SELECT id, $1, 'owner' FROM c`,
        [who.user.id, count],
      );
    }
    await db.query('ANALYZE');
    await db.end();
    const cases = [
      { label: `${FEW} conversations (baseline)`, server: bounded, who: few },
      { label: `${MANY} conversations, bounded (1000 joined)`, server: bounded, who: many },
      { label: `${MANY} conversations, unbounded (all joined)`, server: unbounded, who: many },
    ];
    const results = new Map(cases.map((c) => [c.label, [] as Awaited<ReturnType<typeof run>>[]]));
    for (let round = 0; round < ROUNDS; round++)
      for (const c of cases) results.get(c.label)!.push(await run(c.server, c.who));
    const baseline = median(results.get(cases[0]!.label)!.map((r) => r.p50));
    console.log(`${SOCKETS} sockets held per case, ${ROUNDS} rounds interleaved, medians over rounds\n`);
    console.log(
      '| case | connect p50 ms | connect p99 ms | p50 vs baseline | heap KB per socket | RSS KB per socket |\n| --- | --- | --- | --- | --- | --- |',
    );
    for (const c of cases) {
      const rs = results.get(c.label)!;
      const p50 = median(rs.map((r) => r.p50));
      console.log(
        `| ${c.label} | ${p50.toFixed(1)} | ${median(rs.map((r) => r.p99)).toFixed(1)} | ${(p50 / baseline).toFixed(2)} | ${median(rs.map((r) => r.heapPerSocketKb)).toFixed(0)} | ${median(rs.map((r) => r.rssPerSocketKb)).toFixed(0)} |`,
      );
    }
  } finally {
    closeAllClients();
    await stopAll();
    await dropTestDatabase();
  }
}

await main();
