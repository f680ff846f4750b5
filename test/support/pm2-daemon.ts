// The @socket.io/pm2 daemon (pm2 6.0.14 patched to relay between cluster workers and route by socket.io
// session) with a private PM2_HOME and a free PM2_PORT, called by its binary's path so no other pm2 is used.
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { freePort } from './processes.js';

const run = promisify(execFile);
const PM2_BIN = fileURLToPath(new URL('../../node_modules/@socket.io/pm2/bin/pm2', import.meta.url));
const MAIN = fileURLToPath(new URL('../../dist/main.js', import.meta.url));

export interface Pm2Daemon {
  /** Where the daemon's sticky balancer listens. */
  url: string;
  home: string;
  /** Process list: pid, status and restart count of each worker. */
  list(): Promise<Array<{ pid: number; status: string; restarts: number }>>;
  /** What worker `index` wrote to stdout. */
  workerLog(index: number): Promise<string>;
  kill(): Promise<void>;
}

export async function startPm2Cluster(
  name: string,
  instances: number,
  env: Record<string, string>,
): Promise<Pm2Daemon> {
  const home = await mkdtemp(path.join(os.tmpdir(), 'parley-rt-pm2-'));
  const pm2Port = await freePort();
  const daemonEnv = { PATH: process.env.PATH ?? '', HOME: home, PM2_HOME: home, PM2_PORT: String(pm2Port) };
  const pm2 = (...args: string[]) => run(process.execPath, [PM2_BIN, ...args], { env: daemonEnv, timeout: 60_000 });
  const ecosystem = path.join(home, 'ecosystem.json');
  await writeFile(ecosystem, JSON.stringify({ apps: [{ name, script: MAIN, exec_mode: 'cluster', instances, env }] }));
  const daemon: Pm2Daemon = {
    url: `http://127.0.0.1:${pm2Port}`,
    home,
    async list() {
      const { stdout } = await pm2('jlist');
      const apps = JSON.parse(stdout.slice(stdout.indexOf('['))) as Array<{
        pid: number;
        pm2_env: { status: string; restart_time: number };
      }>;
      return apps.map((app) => ({ pid: app.pid, status: app.pm2_env.status, restarts: app.pm2_env.restart_time }));
    },
    workerLog: (index) => readFile(path.join(home, 'logs', `${name}-out-${index}.log`), 'utf8').catch(() => ''),
    async kill() {
      await pm2('kill').catch(() => undefined);
      await rm(home, { recursive: true, force: true });
    },
  };
  try {
    await pm2('start', ecosystem);
  } catch (error) {
    await daemon.kill();
    throw error;
  }
  return daemon;
}
