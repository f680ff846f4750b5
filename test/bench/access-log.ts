// What the access log costs: two Parley processes, one with the default access log (an info line per request,
// written to a file as PM2 would) and one with ACCESS_LOG=false, measured in alternating rounds on the same
// authenticated 50-message history read; the ratio is what to report.
// Run: npm run build && npx tsx test/bench/access-log.ts [--duration 5] [--connections 20] [--rounds 3]
// Not part of npm test: the numbers depend on the machine and on whatever else runs on it.
import { fork, type ChildProcess } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import { table } from '../../src/capacity/report.js';
import { createGroup, register } from '../support/client.js';
import { freePort } from '../support/processes.js';
import { createTestServices, dropTestServices, testEnv } from '../support/services.js';

const { values } = parseArgs({
  options: {
    duration: { type: 'string', default: '5' },
    connections: { type: 'string', default: '20' },
    rounds: { type: 'string', default: '3' },
  },
});
const ROOT = path.resolve(import.meta.dirname, '../..');

interface Server {
  name: string;
  url: string;
  child: ChildProcess;
  log: string;
}

async function start(name: string, dir: string, env: Record<string, string>): Promise<Server> {
  const port = await freePort();
  const log = path.join(dir, `${name}.log`);
  const fd = openSync(log, 'a');
  const child = fork(path.join(ROOT, 'dist/main.js'), [], {
    env: {
      PATH: process.env.PATH ?? '',
      ...testEnv({ PORT: String(port), HOST: '127.0.0.1', LOG_LEVEL: 'info', ...env }),
    },
    stdio: ['ignore', fd, fd, 'ipc'],
  });
  closeSync(fd);
  await new Promise<void>((resolve, reject) => {
    child.once('message', (message) => message === 'ready' && resolve());
    child.once('exit', (code) => reject(new Error(`${name} exited with ${code}`)));
  });
  return { name, url: `http://127.0.0.1:${port}`, child, log };
}

async function main(): Promise<void> {
  await createTestServices();
  const dir = mkdtempSync(path.join(os.tmpdir(), 'parley-bench-access-log-'));
  const servers: Server[] = [];
  try {
    servers.push(await start('access log on', dir, {}), await start('ACCESS_LOG=false', dir, { ACCESS_LOG: 'false' }));
    const owner = await register(servers[0]!.url);
    const conversationId = await createGroup(servers[0]!.url, owner, [await register(servers[0]!.url)]);
    for (let i = 0; i < 50; i += 1) {
      await fetch(`${servers[0]!.url}/api/conversations/${conversationId}/messages`, {
        method: 'POST',
        headers: { authorization: `Bearer ${owner.accessToken}`, 'content-type': 'application/json' },
        body: JSON.stringify({ body: `message ${i} `.repeat(8), clientMsgId: `bench-${i}` }),
      });
    }
    const run = (server: Server, duration: number) =>
      autocannon({
        url: `${server.url}/api/conversations/${conversationId}/messages?limit=50`,
        connections: Number(values.connections),
        duration,
        headers: { authorization: `Bearer ${owner.accessToken}` },
      });
    for (const server of servers) await run(server, 2); // warm-up

    const rps = new Map<string, number[]>(servers.map((s) => [s.name, []]));
    const bad: string[] = [];
    for (let round = 0; round < Number(values.rounds); round += 1) {
      // Alternate the order so a noisy moment on the shared machine does not always land on the same side.
      for (const server of round % 2 === 0 ? servers : [...servers].reverse()) {
        const result = await run(server, Number(values.duration));
        rps.get(server.name)!.push(Math.round(result.requests.average));
        if (result.non2xx + result.errors + result.timeouts > 0)
          bad.push(`${server.name}: ${result.non2xx} non-2xx, ${result.errors} errors`);
      }
    }
    const median = (list: number[]) => [...list].sort((a, b) => a - b)[Math.floor(list.length / 2)]!;
    const off = median(rps.get('ACCESS_LOG=false')!);
    process.stdout.write(
      `${table(
        ['server', 'req/s per round', 'median req/s', 'vs ACCESS_LOG=false', 'log bytes'],
        servers.map((s) => [
          s.name,
          rps.get(s.name)!.join(', '),
          median(rps.get(s.name)!),
          (median(rps.get(s.name)!) / off).toFixed(2),
          statSync(s.log).size,
        ]),
      )}\n${bad.length > 0 ? `problems: ${bad.join('; ')}\n` : ''}`,
    );
  } finally {
    for (const server of servers) server.child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
    await dropTestServices();
  }
}

await main();
