// The process that owns a running topology (started detached by `npm run topology:up`): it starts everything,
// writes topology.json when ready, and on SIGTERM/SIGINT (`npm run topology:down`) stops everything in reverse
// order and removes the directory's state.
import { rm, writeFile } from 'node:fs/promises';
import { startTopology } from './topology.js';
import { stateFile, topologySettings } from './settings.js';

const settings = topologySettings();
const topology = await startTopology({ ...settings, log: (line) => console.log(`[topology] ${line}`) });
const state = {
  pid: process.pid,
  url: topology.nginx.url,
  description: topology.describe(),
  startedAt: new Date().toISOString(),
};
await writeFile(stateFile(settings.dir), `${JSON.stringify(state, null, 2)}\n`);
console.log(`[topology] ready\n${topology.describe()}`);

let stopping = false;
const stop = async (signal: string) => {
  if (stopping) return;
  stopping = true;
  console.log(`[topology] ${signal}: stopping`);
  await topology.stop();
  await rm(settings.dir, { recursive: true, force: true });
  process.exit(0);
};
process.on('SIGTERM', () => void stop('SIGTERM'));
process.on('SIGINT', () => void stop('SIGINT'));
// Keeps the event loop alive until a signal arrives.
setInterval(() => undefined, 60_000);
