// `npm run topology:up`: starts the local many-host topology in the background (deploy/topology/topology.ts),
// prints the nginx URL and what runs where. If one runs already in TOPOLOGY_DIR, says so and starts nothing.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, openSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { stateFile, topologySettings } from './settings.js';

const settings = topologySettings();
const running = readState(settings.dir);
if (running) {
  console.log(
    `A topology is already running (pid ${running.pid}) at ${running.url}; npm run topology:down stops it.\n${running.description}`,
  );
  process.exit(0);
}
if (existsSync(settings.dir) && readdirSync(settings.dir).length > 0) {
  // Left by a topology whose supervisor died or never became ready: its processes may still run (their pids and
  // logs are in there), so nothing is removed without a look.
  console.error(
    `${settings.dir} holds a topology that is not running (see its supervisor.log); stop what it started, remove the directory, and run topology:up again`,
  );
  process.exit(1);
}
if (!existsSync(new URL('../../dist/main.js', import.meta.url))) {
  console.error('no dist/main.js: run `npm run build` first (npm run topology:up builds)');
  process.exit(1);
}
mkdirSync(settings.dir, { recursive: true });
const logFile = path.join(settings.dir, 'supervisor.log');
const log = openSync(logFile, 'a');
const supervisor = fileURLToPath(new URL('./supervisor.ts', import.meta.url));
const tsx = fileURLToPath(new URL('../../node_modules/tsx/dist/cli.mjs', import.meta.url));
const child = spawn(process.execPath, [tsx, supervisor], {
  detached: true,
  stdio: ['ignore', log, log],
  env: process.env,
});
child.unref();
let exited: number | null = null;
child.once('exit', (code) => (exited = code ?? 1));

console.log(
  `starting: ${settings.hosts} hosts x ${settings.instances} instances, nginx on 127.0.0.1:${settings.port} (log: ${logFile})`,
);
const deadline = Date.now() + 180_000;
for (;;) {
  const state = readState(settings.dir);
  if (state) {
    console.log(`${state.description}\n\nTry: curl -s ${state.url}/health/ready\nStop: npm run topology:down`);
    process.exit(0);
  }
  if (exited !== null || Date.now() > deadline) {
    console.error(`the topology did not start:\n${readFileSync(logFile, 'utf8').slice(-3000)}`);
    process.exit(1);
  }
  await sleep(250);
}

function readState(dir: string): { pid: number; url: string; description: string } | undefined {
  const file = stateFile(dir);
  if (!existsSync(file)) return undefined;
  const state = JSON.parse(readFileSync(file, 'utf8'));
  try {
    process.kill(state.pid, 0);
    return state;
  } catch {
    return undefined; // left by a supervisor that died
  }
}
