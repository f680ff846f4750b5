// The jobs app under test: in this process (startJobs, as main.ts builds it), or under a real PM2 daemon of its own
// (PM2_HOME in a temp dir) started from ecosystem.config.js with `--only parley-jobs`, as an operator runs it.
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { loadConfig } from '../../src/config.js';
import { createLogger } from '../../src/core/logger.js';
import { startJobs, type JobsRuntime } from '../../src/jobs/runtime.js';
import { parseJlist } from './pm2-list.js';
import { testEnv } from './services.js';
import { sleep } from './sockets.js';

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const PM2_BIN = path.join(ROOT, 'node_modules/pm2/bin/pm2');

export const WEBHOOK_SECRET = 'test-webhook-secret-0123456789abcdef0123';

/** Fast settings for tests: short delay, quick retries and lock expiry. */
export function jobsEnv(receiverUrl: string, overrides: Record<string, string> = {}): Record<string, string> {
  return {
    NOTIFY_WEBHOOK_URL: receiverUrl,
    NOTIFY_WEBHOOK_SECRET: WEBHOOK_SECRET,
    NOTIFY_DELAY_MS: '300',
    NOTIFY_TIMEOUT_MS: '1000',
    NOTIFY_MAX_ATTEMPTS: '4',
    NOTIFY_BACKOFF_BASE_MS: '100',
    NOTIFY_BACKOFF_MAX_MS: '400',
    JOBS_RELAY_INTERVAL_MS: '50',
    JOBS_RELAY_RECHECK_MS: '1500',
    JOBS_LOCK_MS: '1500',
    ...overrides,
  };
}

export async function startJobsInProcess(
  env: Record<string, string>,
): Promise<JobsRuntime & { stop(): Promise<void> }> {
  const config = loadConfig(testEnv(env));
  const runtime = await startJobs(
    config,
    createLogger({ level: config.logLevel, instanceId: 'test-jobs', pretty: false }),
  );
  return { ...runtime, stop: () => runtime.close(2_000) };
}

export interface Pm2Jobs {
  home: string;
  /** The jobs process's pid and restart count, as PM2 lists it. */
  process(): Promise<{ pid: number; status: string; restarts: number; monit: Record<string, { value: unknown }> }>;
  waitOnline(previousPid?: number, timeoutMs?: number): Promise<number>;
  log(): Promise<string>;
  stop(): Promise<void>;
}

export async function startJobsUnderPm2(env: Record<string, string>): Promise<Pm2Jobs> {
  const home = await mkdtemp(path.join(os.tmpdir(), 'parley-jobs-pm2-'));
  const inherited = Object.fromEntries(
    Object.entries(process.env).filter(([name]) => !/^(NODE_OPTIONS|PM2_|pm_|NODE_APP_INSTANCE|npm_)/i.test(name)),
  );
  const fullEnv = {
    ...inherited,
    ...testEnv(env),
    PM2_HOME: home,
    HOME: home,
    NODE_ENV: 'production',
    NOTIFY_ALLOW_PRIVATE: 'true',
    LOG_LEVEL: 'info',
  };
  const pm2 = async (...args: string[]) =>
    (await run(process.execPath, [PM2_BIN, ...args], { cwd: ROOT, env: fullEnv, timeout: 60_000, maxBuffer: 8 << 20 }))
      .stdout;
  const jobs: Pm2Jobs = {
    home,
    async process() {
      const list = parseJlist(await pm2('jlist'));
      const app = list.find((entry) => entry.name === 'parley-jobs');
      if (!app)
        throw new Error(`parley-jobs is not in the PM2 list: ${JSON.stringify(list.map((entry) => entry.name))}`);
      return { pid: app.pid, status: app.status, restarts: app.restarts, monit: app.monit };
    },
    async waitOnline(previousPid, timeoutMs = 30_000) {
      const until = Date.now() + timeoutMs;
      for (;;) {
        const current = await jobs.process().catch(() => undefined);
        if (current && current.status === 'online' && current.pid > 0 && current.pid !== previousPid)
          return current.pid;
        if (Date.now() > until)
          throw new Error(
            `parley-jobs not online after ${timeoutMs} ms: ${JSON.stringify(current)}\n${(await jobs.log()).slice(-3000)}`,
          );
        await sleep(200);
      }
    },
    log: async () => {
      const read = (name: string) => readFile(path.join(home, 'logs', name), 'utf8').catch(() => '');
      return (await read('parley-jobs-out.log')) + (await read('parley-jobs-error.log'));
    },
    async stop() {
      await pm2('kill').catch(() => undefined);
      await rm(home, { recursive: true, force: true });
    },
  };
  try {
    await pm2('start', 'ecosystem.config.js', '--only', 'parley-jobs', '--env', 'production');
    await jobs.waitOnline();
  } catch (error) {
    const log = await jobs.log();
    await jobs.stop();
    throw new Error(`${(error as Error).message}\n${log.slice(-3000)}`);
  }
  return jobs;
}
