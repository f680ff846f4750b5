import { expect } from 'chai';
import { HEALTH_DETAIL } from '../support/services.js';
import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { register, request } from '../support/client.js';
import { MAIN, startServer } from '../support/processes.js';

const ROOT = path.dirname(path.dirname(MAIN));

describe('embedded default (no DATABASE_URL, no REDIS_URL)', function () {
  this.timeout(90_000);
  let dataDir: string;
  before(async () => {
    dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'parley-pglite-'));
  });
  after(() => fs.rm(dataDir, { recursive: true, force: true }));

  it('when started with no database server, then it serves requests and keeps data across a restart', async () => {
    // Empty DATABASE_URL and REDIS_URL count as unset: the embedded database, no Redis.
    const env = { NODE_ENV: 'development', DATABASE_URL: '', REDIS_URL: '', PGLITE_DIR: dataDir, LOG_LEVEL: 'info' };
    const first = await startServer(env);
    let account;
    try {
      account = await register(first.url, 'embedded_user', 'embedded password');
      expect(first.output()).to.include('embedded PGlite database');
      const health = await request(first.url, 'GET', '/health', { headers: HEALTH_DETAIL });
      expect(health.body.db.primary.total).to.be.at.most(1);
    } finally {
      expect(await first.stop()).to.equal(0);
    }
    const second = await startServer(env);
    try {
      const login = await request(second.url, 'POST', '/api/auth/login', {
        body: { username: 'embedded_user', password: 'embedded password' },
      });
      expect(login.status).to.equal(200);
      expect(login.body.user.id).to.equal(account.user.id);
    } finally {
      await second.stop();
    }
  });

  it('when production has no DATABASE_URL, then it refuses to start, naming it', async () => {
    const run = promisify(execFile);
    const failure = await run(process.execPath, [MAIN], {
      env: {
        PATH: process.env.PATH,
        NODE_ENV: 'production',
        JWT_SECRET: 'j'.repeat(40),
        SESSION_SECRET: 's'.repeat(40),
      },
    }).then(
      () => undefined,
      (error: { code: number; stderr: string }) => error,
    );
    expect(failure?.code).to.equal(78);
    expect(failure?.stderr).to.include('DATABASE_URL: required in production');
  });
});

/** Runs the test command on one spec with `env` added and returns its output; the run must fail. */
async function failingTestRun(env: Record<string, string>): Promise<string> {
  const run = promisify(execFile);
  const failure = await run('npx', ['mocha', '--spec', 'test/unit/config.test.ts'], {
    cwd: ROOT,
    env: { ...process.env, ...env },
  }).then(
    () => undefined,
    (error: { stdout: string; stderr: string }) => error,
  );
  expect(failure, 'the run should fail').to.not.equal(undefined);
  return `${failure!.stdout}${failure!.stderr}`;
}

describe('test command without its services', function () {
  this.timeout(60_000);
  it('when PostgreSQL cannot be reached, then the run fails naming it', async () => {
    const output = await failingTestRun({ TEST_DATABASE_URL: 'postgres://root@127.0.0.1:1/test' });
    expect(output).to.include('PostgreSQL is not reachable at postgres://root@127.0.0.1:1/test');
  });

  it('when Redis cannot be reached, then the run fails naming it', async () => {
    const output = await failingTestRun({ TEST_REDIS_URL: 'redis://127.0.0.1:1' });
    expect(output).to.include('Redis is not reachable at redis://127.0.0.1:1');
  });
});
