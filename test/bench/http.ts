// HTTP benchmark: autocannon against a bare node:http server (the ceiling, measured in the same run), one Parley
// process, and the PM2 cluster, on /health/live and on an authenticated read of 50 messages.
// Run: npm run build && npx tsx test/bench/http.ts [--duration 5] [--connections 50] [--rounds 3] [--json out.json]
// Not part of npm test: the numbers depend on the machine and on whatever else runs on it.
import { fork, spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { table } from '../../src/capacity/report.js';
import { HTTP_BENCH_OPTIONS, machineLine, measure as measureLoad, median, ready, type HttpRow } from './measure.js';
import { freePort, startCluster, sleep, type Cluster } from '../cluster/support/cluster.js';
import { createGroup, register } from '../support/client.js';
import { createTestServices, dropTestServices } from '../support/services.js';
import { requestFresh } from '../cluster/support/http.js';

const { values } = parseArgs({
  options: HTTP_BENCH_OPTIONS,
});
const ROUNDS = Number(values.rounds);
const DURATION = Number(values.duration);
const CONNECTIONS = Number(values.connections);
const ROOT = path.resolve(import.meta.dirname, '../..');

function startBare(port: number): ChildProcess {
  const code = `require('node:http').createServer((req, res) => { const body = '{"status":"ok"}'; res.writeHead(200, {'content-type': 'application/json; charset=utf-8', 'content-length': body.length}); res.end(body); }).listen(${port}, '127.0.0.1', () => process.send('ready'));`;
  return spawn(process.execPath, ['-e', code], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
}

/** Koa with one middleware: what the framework alone costs, between bare node:http and Parley. */
function startKoaHello(port: number): ChildProcess {
  const code = `import('koa').then(({ default: Koa }) => { const app = new Koa(); app.use((ctx) => { ctx.body = { status: 'ok' }; }); app.listen(${port}, '127.0.0.1', () => process.send('ready')); });`;
  return spawn(process.execPath, ['-e', code], { cwd: ROOT, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
}

function startSingle(env: NodeJS.ProcessEnv): ChildProcess {
  return fork(path.join(ROOT, 'dist/main.js'), [], { env, stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
}

async function main(): Promise<void> {
  await createTestServices();
  const children: ChildProcess[] = [];
  let cluster: Cluster | undefined;
  const rows: HttpRow[] = [];
  const started = new Date().toISOString();
  const measure = (
    target: string,
    endpoint: string,
    url: string,
    headers: Record<string, string>,
    pids: () => number[],
  ) => measureLoad(target, endpoint, { url, headers, connections: CONNECTIONS, durationSec: DURATION }, pids);
  try {
    const barePort = await freePort();
    const bare = startBare(barePort);
    children.push(bare);
    await ready(bare);
    const koaPort = await freePort();
    const koa = startKoaHello(koaPort);
    children.push(koa);
    await ready(koa);

    // The single process runs with the same production environment the cluster gets from PM2.
    cluster = await startCluster();
    const singlePort = await freePort();
    const single = startSingle({
      ...cluster.env,
      PORT: String(singlePort),
      NODE_APP_INSTANCE: 'single',
      MAX_WORKERS: undefined,
    });
    children.push(single);
    await ready(single);
    const singleUrl = `http://127.0.0.1:${singlePort}`;

    const owner = await register(singleUrl);
    const conversationId = await createGroup(singleUrl, owner, [await register(singleUrl)]);
    for (let i = 0; i < 60; i += 1)
      await requestFresh(
        `${singleUrl}/api/conversations/${conversationId}/messages`,
        'POST',
        { body: `message ${i} `.repeat(8), clientMsgId: `bench-${i}` },
        owner.accessToken,
      );
    const auth = { authorization: `Bearer ${owner.accessToken}` };
    const history = `/api/conversations/${conversationId}/messages?limit=50`;
    const check = await requestFresh(singleUrl + history, 'GET', undefined, owner.accessToken);
    if (check.status !== 200 || check.body.messages.length !== 50)
      throw new Error(`history read returned ${check.status}`);

    // In cluster mode the PM2 daemon is the cluster primary that accepts and hands out connections: its CPU counts.
    const daemonPid = Number(readFileSync(path.join(cluster.home, 'pm2.pid'), 'utf8'));
    const workerPids = (await cluster.processes()).map((p) => p.pid);
    const clusterPids = () => [daemonPid, ...workerPids];
    const clusterName = `parley, PM2 cluster x${workerPids.length}`;
    const targets: Array<[string, string, string, Record<string, string>, () => number[]]> = [
      ['bare node:http', '/health/live equivalent', `http://127.0.0.1:${barePort}/`, {}, () => [bare.pid!]],
      ['Koa, one middleware', '/health/live equivalent', `http://127.0.0.1:${koaPort}/`, {}, () => [koa.pid!]],
      ['parley, 1 process', '/health/live', `${singleUrl}/health/live`, {}, () => [single.pid!]],
      ['parley, 1 process', 'GET 50 messages (auth)', singleUrl + history, auth, () => [single.pid!]],
      [clusterName, '/health/live', `${cluster.url}/health/live`, {}, clusterPids],
      [clusterName, 'GET 50 messages (auth)', cluster.url + history, auth, clusterPids],
    ];
    // The machine is shared: targets run interleaved, ROUNDS times, and each keeps its median run, so a burst of
    // someone else's load does not land on one target only.
    const runs = new Map<number, HttpRow[]>();
    for (let round = 0; round < ROUNDS; round += 1)
      for (const [index, [target, endpoint, url, headers, pids]] of targets.entries())
        runs.set(index, [...(runs.get(index) ?? []), await measure(target, endpoint, url, headers, pids)]);
    for (const index of targets.keys()) rows.push(median(runs.get(index)!));
  } finally {
    for (const child of children) child.kill('SIGINT');
    await cluster?.stop();
    await sleep(500);
    await dropTestServices();
  }

  const bare = rows[0]!;
  const single = (endpoint: string) =>
    rows.find((row) => row.target === 'parley, 1 process' && row.endpoint === endpoint)!;
  const print = table(
    [
      'target',
      'endpoint',
      'req/s',
      'vs bare',
      'throughput increase',
      'avg ms',
      'p50 ms',
      'p95 ms',
      'p99 ms',
      'CPU %',
      'RSS MB',
      'errors',
      'non-2xx',
    ],
    rows.map((row) => [
      row.target,
      row.endpoint,
      row.rps,
      (row.rps / bare.rps).toFixed(2),
      row.target.includes('cluster') ? `x${(row.rps / single(row.endpoint).rps).toFixed(2)} of 1 process` : '',
      row.avg.toFixed(2),
      row.p50,
      row.p95,
      row.p99,
      row.cpu,
      row.rssMb,
      row.errors,
      row.non2xx,
    ]),
  );
  const command = `npx tsx test/bench/http.ts --duration ${DURATION} --connections ${CONNECTIONS} --rounds ${ROUNDS}`;
  process.stdout.write(
    `\n${command}  (${started})\nmachine: ${machineLine()}\n` +
      `autocannon runs in this process on the same cores; each row is the median of ${ROUNDS} interleaved runs; CPU % is of one core, summed over the server's processes (cluster: workers + PM2 daemon)\n\n${print}\n`,
  );
  const live = single('/health/live');
  process.stdout.write(
    `\ntarget (1 process): /health/live ${(live.rps / bare.rps).toFixed(2)} of bare (>= 0.65: ${live.rps / bare.rps >= 0.65 ? 'met' : 'MISSED'})\n`,
  );
  if (values.json)
    writeFileSync(
      values.json,
      JSON.stringify({ benchmark: 'http', command, started, machine: machineLine(), rows }, null, 2),
    );
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});
