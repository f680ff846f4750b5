// Reload under load: autocannon reads history from the PM2 cluster (2 workers) for the whole run while
// `pm2 reload` replaces both workers one after the other; a run without a reload, measured just before, is the
// baseline. What counts: errors and non-2xx answers (a dropped request is a failure), and the latency tail.
//
//   npm run build && npx tsx test/bench/reload.ts [--duration 12] [--connections 50] [--json out.json]
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { table } from '../../src/capacity/report.js';
import { machineLine, measure, type HttpRow } from './measure.js';
import { startCluster, type Cluster } from '../cluster/support/cluster.js';
import { requestFresh } from '../cluster/support/http.js';
import { createGroup, register } from '../support/client.js';
import { createTestServices, dropTestServices } from '../support/services.js';

const { values } = parseArgs({
  options: {
    duration: { type: 'string', default: '12' },
    connections: { type: 'string', default: '50' },
    json: { type: 'string' },
  },
});
const DURATION = Number(values.duration);
const CONNECTIONS = Number(values.connections);

async function main(): Promise<void> {
  await createTestServices();
  let cluster: Cluster | undefined;
  const rows: HttpRow[] = [];
  const started = new Date().toISOString();
  let reloadMs = 0;
  try {
    cluster = await startCluster();
    const owner = await register(cluster.url);
    const conversationId = await createGroup(cluster.url, owner, [await register(cluster.url)]);
    for (let i = 0; i < 50; i += 1)
      await requestFresh(
        `${cluster.url}/api/conversations/${conversationId}/messages`,
        'POST',
        { body: `message ${i} `.repeat(8), clientMsgId: `reload-${i}` },
        owner.accessToken,
      );
    const url = `${cluster.url}/api/conversations/${conversationId}/messages?limit=50`;
    const headers = { authorization: `Bearer ${owner.accessToken}` };
    const daemonPid = Number(readFileSync(path.join(cluster.home, 'pm2.pid'), 'utf8'));
    // CPU is not reported: the reload replaces the workers whose CPU would be counted.
    const steady = [daemonPid, ...(await cluster.processes()).map((p) => p.pid)];
    rows.push(
      await measure(
        'PM2 cluster x2, steady',
        'GET 50 messages (auth)',
        { url, headers, connections: CONNECTIONS, durationSec: DURATION },
        () => steady,
      ),
    );
    // The reload starts a second into the measured window, after the warm-up, and is timed.
    const reloading = (async () => {
      await sleep(2_000 + 1_000);
      const begun = Date.now();
      await cluster!.reload();
      reloadMs = Date.now() - begun;
    })();
    rows.push(
      await measure(
        'PM2 cluster x2, pm2 reload during the run',
        'GET 50 messages (auth)',
        { url, headers, connections: CONNECTIONS, durationSec: DURATION },
        () => steady,
      ),
    );
    await reloading;
  } finally {
    await cluster?.stop();
    await dropTestServices();
  }
  const command = `npx tsx test/bench/reload.ts --duration ${DURATION} --connections ${CONNECTIONS}`;
  const print = table(
    ['run', 'req/s', 'avg ms', 'p50 ms', 'p95 ms', 'p99 ms', 'errors', 'non-2xx'],
    rows.map((row) => [row.target, row.rps, row.avg, row.p50, row.p95, row.p99, row.errors, row.non2xx]),
  );
  process.stdout.write(
    `\n${command}  (${started})\nmachine: ${machineLine()}\nthe reload took ${reloadMs} ms (both workers replaced and ready)\n\n${print}\n`,
  );
  if (values.json)
    writeFileSync(
      values.json,
      JSON.stringify({ benchmark: 'reload', command, started, machine: machineLine(), reloadMs, rows }, null, 2),
    );
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});
