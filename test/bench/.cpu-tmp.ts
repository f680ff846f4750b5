import autocannon from 'autocannon';
import { readFileSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { createTestServices, dropTestServices, testEnv } from '../support/services.js';
import { freePort, MAIN } from '../support/processes.js';
const ticks = (pid: number) => { const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' '); return Number(f[11]) + Number(f[12]); };
async function start(args: string[], env: Record<string,string>, cwd = '/work/main') {
  const child = spawn(process.execPath, args, { cwd, env: { PATH: process.env.PATH!, ...env }, stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
  await new Promise<void>((r) => child.on('message', (m) => m === 'ready' && r()));
  return child;
}
await createTestServices();
const N = Number(process.env.N ?? 100000);
const targets: Array<[string, () => Promise<{ child: any; url: string }>]> = [
  ['bare', async () => { const p = await freePort(); return { child: await start(['-e', `require('node:http').createServer((req, res) => { const body = '{"status":"ok"}'; res.writeHead(200, {'content-type': 'application/json; charset=utf-8', 'content-length': body.length}); res.end(body); }).listen(${p}, '127.0.0.1', () => process.send('ready'));`], {}), url: `http://127.0.0.1:${p}/` }; }],
  ['koa', async () => { const p = await freePort(); return { child: await start(['-e', `import('koa').then(({ default: Koa }) => { const app = new Koa(); app.use((ctx) => { ctx.body = { status: 'ok' }; }); app.listen(${p}, '127.0.0.1', () => process.send('ready')); });`], {}), url: `http://127.0.0.1:${p}/` }; }],
  ['parley', async () => { const p = await freePort(); return { child: await start([MAIN], testEnv({ PORT: String(p), HOST: '127.0.0.1', LOG_LEVEL: 'warn', ...JSON.parse(process.env.PENV ?? '{}') })), url: `http://127.0.0.1:${p}/health/live` }; }],
];
for (const [name, mk] of targets) {
  const { child, url } = await mk();
  await autocannon({ url, connections: 50, amount: 20000 });
  const t0 = ticks(child.pid); const s = Date.now();
  const r = await autocannon({ url, connections: 50, amount: N });
  const cpu = (ticks(child.pid) - t0) / 100;
  console.log(name.padEnd(8), 'rps', Math.round(r.requests.average), 'cpu-us/req', (cpu / N * 1e6).toFixed(1), 'wall', (Date.now() - s) / 1000, 'p99', r.latency.p99);
  child.kill('SIGINT');
}
await dropTestServices();
