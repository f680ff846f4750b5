// Drives a real PM2 (the project's pm2 7 binary) with a private PM2_HOME per cluster, so tests never touch an
// operator's daemon or each other's. Every daemon started here is killed by stop(), and on process exit as a
// last resort.
import { setTimeout as sleep } from 'node:timers/promises';
import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, existsSync } from 'node:fs';
import { freePort, freePortRun } from '../../../deploy/topology/ports.js';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { TEST_REDIS_PREFIX, TEST_REDIS_URL, testDatabaseUrl, TEST_HEALTH_TOKEN } from '../../support/services.js';
import { requestFresh } from './http.js';
import { parseJlist } from '../../support/pm2-list.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
// Stock pm2 7 by path: @socket.io/pm2 (the cluster-adapter daemon) installs a `pm2` binary too, and whichever
// package npm links last owns node_modules/.bin/pm2.
const PM2_BIN = path.join(ROOT, 'node_modules', 'pm2', 'bin', 'pm2');
const live = new Set<string>();

process.once('exit', () => {
  for (const home of live) killDaemonSync(home);
});

export interface Pm2Process {
  pmId: number;
  pid: number;
  status: string;
  restarts: number;
  /** The last exit code PM2 saw, if the process exited. */
  exitCode?: number;
  /** What pm2 monit / pm2 describe show as the process's custom metrics. */
  metrics: Record<string, { value: unknown }>;
}

export interface Cluster {
  url: string;
  port: number;
  home: string;
  env: NodeJS.ProcessEnv;
  pm2(...args: string[]): Promise<string>;
  processes(): Promise<Pm2Process[]>;
  /** Re-reads the process list until `done` holds or `timeoutMs` passes, and returns the last list either way. */
  processesUntil(done: (list: Pm2Process[]) => boolean, timeoutMs: number): Promise<Pm2Process[]>;
  /** Waits until `count` workers are online and answer /health/ready. */
  waitOnline(count: number, timeoutMs?: number): Promise<Pm2Process[]>;
  /** `pm2 reload ecosystem.config.js --env production`, then waits until both workers are online and ready. */
  reload(): Promise<void>;
  outLog(): string;
  errorLog(): string;
  daemonLog(): string;
  stop(): Promise<void>;
}

export { freePort };

/** Instances a test cluster may run (MAX_WORKERS), each on its own metrics port. */
const MAX_TEST_INSTANCES = 4;

/** The environment a production cluster under test runs with: this run's database and key space. */
function clusterEnv(
  home: string,
  port: number,
  metricsPortBase: number,
  overrides: Record<string, string>,
): NodeJS.ProcessEnv {
  const inherited = Object.fromEntries(
    Object.entries(process.env).filter(([name]) => !/^(NODE_OPTIONS|PM2_|pm_|NODE_APP_INSTANCE|npm_)/i.test(name)),
  );
  return {
    ...inherited,
    PM2_HOME: home,
    PORT: String(port),
    HOST: '127.0.0.1',
    METRICS_PORT_BASE: String(metricsPortBase),
    MAX_WORKERS: '2',
    // These suites count and reload the API's processes; the jobs app has its own tests (test/integration/jobs/).
    JOBS_APP: 'false',
    DB_MAX_CONNECTIONS: '40',
    DATABASE_URL: testDatabaseUrl(),
    REDIS_URL: TEST_REDIS_URL,
    REDIS_PREFIX: TEST_REDIS_PREFIX,
    JWT_SECRET: 'cluster-test-jwt-secret-0123456789abcdef',
    SESSION_SECRET: 'cluster-test-session-secret-0123456789abcdef',
    HEALTH_DETAIL_TOKEN: TEST_HEALTH_TOKEN,
    SESSION_COOKIE_SECURE: 'false',
    PASSWORD_HASH_COST: '10',
    RATE_LIMIT_AUTH_PER_MIN: '1000000',
    RATE_LIMIT_API_PER_MIN: '1000000',
    LOG_LEVEL: 'info',
    ...overrides,
  };
}

export interface StartOptions {
  /** false: return as soon as `pm2 start` returns (to test start failures). */
  expectOnline?: boolean;
  /** Another checkout to start (a fresh clone); this repository by default. */
  root?: string;
  /** Run PM2 as an operator types it, `npx pm2 ...` in the checkout, instead of pm2 7's binary by path. */
  npx?: boolean;
}

export async function startCluster(
  overrides: Record<string, string> = {},
  { expectOnline = true, root = ROOT, npx = false }: StartOptions = {},
): Promise<Cluster> {
  const home = mkdtempSync(path.join(os.tmpdir(), 'parley-pm2-'));
  live.add(home);
  const port = await freePort();
  const env = clusterEnv(home, port, await freePortRun(MAX_TEST_INSTANCES), overrides);
  const pm2 = (...args: string[]) => run(env, npx ? ['npx', 'pm2', ...args] : [PM2_BIN, ...args], root);
  const cluster: Cluster = {
    url: `http://127.0.0.1:${port}`,
    port,
    home,
    env,
    pm2,
    async processes() {
      return parseJlist(await pm2('jlist')).map(({ pmId, pid, status, restarts, exitCode, monit }) => ({
        pmId,
        pid,
        status,
        restarts,
        exitCode,
        metrics: monit,
      }));
    },
    async processesUntil(done, timeoutMs) {
      const until = Date.now() + timeoutMs;
      let list = await cluster.processes();
      while (!done(list) && Date.now() < until) {
        await sleep(250);
        list = await cluster.processes();
      }
      return list;
    },
    async waitOnline(count, timeoutMs = 30_000) {
      const until = Date.now() + timeoutMs;
      for (;;) {
        const list = await cluster.processes();
        const online = list.filter((p) => p.status === 'online' && p.pid > 0);
        if (online.length === count && (await answers(`${cluster.url}/health/ready`))) return online;
        if (Date.now() > until) throw new Error(`cluster not online after ${timeoutMs} ms: ${JSON.stringify(list)}`);
        await sleep(200);
      }
    },
    async reload() {
      await pm2('reload', 'ecosystem.config.js', '--env', 'production');
      await cluster.waitOnline(2);
    },
    outLog: () => readIfExists(path.join(home, 'logs', 'parley-out.log')),
    errorLog: () => readIfExists(path.join(home, 'logs', 'parley-error.log')),
    daemonLog: () => readIfExists(path.join(home, 'pm2.log')),
    async stop() {
      await pm2('kill').catch(() => undefined);
      live.delete(home);
      rmSync(home, { recursive: true, force: true });
    },
  };
  try {
    await pm2('start', 'ecosystem.config.js', '--env', 'production');
    if (expectOnline) await cluster.waitOnline(2);
  } catch (error) {
    const logs = cluster.outLog().slice(-2000) + cluster.errorLog().slice(-2000);
    await cluster.stop();
    throw new Error(`${(error as Error).message}\n${logs}`);
  }
  return cluster;
}

function run(env: NodeJS.ProcessEnv, [command, ...args]: string[], cwd: string): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(command!, args, { cwd, env, timeout: 60_000, maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
      if (error) reject(new Error(`${command} ${args.join(' ')} failed: ${error.message}\n${stdout}\n${stderr}`));
      else resolve(stdout);
    });
  });
}

function killDaemonSync(home: string): void {
  try {
    execFileSync(PM2_BIN, ['kill'], {
      cwd: ROOT,
      env: { ...process.env, PM2_HOME: home },
      timeout: 20_000,
      stdio: 'ignore',
    });
  } catch {
    // Best effort on exit; the daemon may already be gone.
  }
  rmSync(home, { recursive: true, force: true });
}

async function answers(url: string): Promise<boolean> {
  try {
    return (await requestFresh(url, 'GET')).status === 200;
  } catch {
    return false;
  }
}

const readIfExists = (file: string) => (existsSync(file) ? readFileSync(file, 'utf8') : '');
export { sleep };
