// Topology benchmark: autocannon through nginx (the shipped nginx/ files) against 1 host and against 2 hosts,
// each beside the same run's direct-to-PM2 figure (one host's API port, no nginx), on /health/live and on an
// authenticated read of 50 messages. The cost of nginx is the ratio nginx / direct.
// Run: npm run build && npx tsx test/bench/topology.ts [--duration 5] [--connections 50] [--instances 2]
// Not part of npm test. On a 2-core machine 2 hosts cannot be faster than 1: the hosts, nginx, PostgreSQL and
// autocannon share the same two cores (deploy/SCALING.md states what to expect on real hosts).
import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import { table } from '../../src/capacity/report.js';
import { startTopology, type Topology } from '../../deploy/topology/topology.js';
import { createGroup, register, request } from '../support/client.js';

const { values } = parseArgs({
  options: {
    duration: { type: 'string', default: '5' },
    connections: { type: 'string', default: '50' },
    instances: { type: 'string', default: '2' },
  },
});
const DURATION = Number(values.duration);
const CONNECTIONS = Number(values.connections);
const INSTANCES = Number(values.instances);

interface Row {
  hosts: number;
  endpoint: string;
  via: string;
  rps: number;
  p99: number;
  errors: number;
  non2xx: number;
}

async function cannon(url: string, headers: Record<string, string>, duration: number) {
  return autocannon({ url, connections: CONNECTIONS, duration, headers });
}

async function measure(
  hosts: number,
  endpoint: string,
  via: string,
  url: string,
  headers: Record<string, string>,
): Promise<Row> {
  await cannon(url, headers, 2); // warm-up: JIT, pools, nginx's upstream connections
  const result = await cannon(url, headers, DURATION);
  return {
    hosts,
    endpoint,
    via,
    rps: Math.round(result.requests.average),
    p99: result.latency.p99,
    errors: result.errors + result.timeouts,
    non2xx: result.non2xx,
  };
}

async function run(hostCount: number): Promise<Row[]> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'parley-topology-bench-'));
  const topology: Topology = await startTopology({
    dir,
    hosts: hostCount,
    instances: INSTANCES,
    port: 0,
    env: {
      PASSWORD_HASH_COST: '10',
      RATE_LIMIT_AUTH_PER_MIN: '1000000',
      RATE_LIMIT_API_PER_MIN: '100000000',
      LOG_LEVEL: 'warn',
    },
  });
  try {
    const nginx = topology.nginx.url;
    const direct = `http://127.0.0.1:${topology.hosts[0]!.port}`;
    const reader = await register(nginx);
    const conversationId = await createGroup(nginx, reader, []);
    for (let i = 0; i < 50; i += 1)
      await request(nginx, 'POST', `/api/conversations/${conversationId}/messages`, {
        token: reader.accessToken,
        body: { body: `message ${i}`, clientMsgId: `bench-${i}` },
      });
    const history = `/api/conversations/${conversationId}/messages?limit=50`;
    const auth = { authorization: `Bearer ${reader.accessToken}` };
    const rows: Row[] = [];
    for (const [endpoint, pathname, headers] of [
      ['/health/live', '/health/live', {}],
      ['history (50)', history, auth],
    ] as const) {
      rows.push(await measure(hostCount, endpoint, 'direct to host-1 PM2', direct + pathname, headers));
      rows.push(await measure(hostCount, endpoint, 'nginx', nginx + pathname, headers));
    }
    return rows;
  } finally {
    await topology.stop();
  }
}

const rows = [...(await run(1)), ...(await run(2))];
const directOf = (row: Row) =>
  rows.find((r) => r.hosts === row.hosts && r.endpoint === row.endpoint && r.via !== 'nginx')!;
const oneHostNginx = (row: Row) => rows.find((r) => r.hosts === 1 && r.endpoint === row.endpoint && r.via === 'nginx')!;
console.log(
  `\n${os.cpus().length} cores, ${INSTANCES} PM2 instances per host, ${CONNECTIONS} connections, ${DURATION} s per figure (after 2 s warm-up)\n`,
);
console.log(
  table(
    ['hosts', 'endpoint', 'via', 'req/s', 'p99 ms', 'errors', 'non-2xx', 'nginx / direct', 'vs 1 host (nginx)'],
    rows.map((row) => [
      row.hosts,
      row.endpoint,
      row.via,
      row.rps,
      row.p99,
      row.errors,
      row.non2xx,
      row.via === 'nginx' ? (row.rps / directOf(row).rps).toFixed(2) : '',
      row.via === 'nginx' ? (row.rps / oneHostNginx(row).rps).toFixed(2) : '',
    ]),
  ),
);
process.exit(0);
