// `npm run topology:down`: stops what `npm run topology:up` started (its supervisor stops nginx, the PM2 hosts,
// Redis and PostgreSQL in that order, then removes TOPOLOGY_DIR).
import { existsSync, readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { stateFile, topologySettings } from './settings.js';

const { dir } = topologySettings();
const file = stateFile(dir);
if (!existsSync(file)) {
  console.log(`no topology running in ${dir}`);
  process.exit(0);
}
const { pid } = JSON.parse(readFileSync(file, 'utf8')) as { pid: number };
try {
  process.kill(pid, 'SIGTERM');
} catch {
  console.error(
    `the topology's supervisor (pid ${pid}) is gone; its processes may still run: see ${dir}/supervisor.log`,
  );
  process.exit(1);
}
const deadline = Date.now() + 60_000;
while (Date.now() < deadline) {
  try {
    process.kill(pid, 0);
  } catch {
    console.log('topology stopped');
    process.exit(0);
  }
  await sleep(250);
}
console.error(`the supervisor (pid ${pid}) did not stop within 60 s`);
process.exit(1);
