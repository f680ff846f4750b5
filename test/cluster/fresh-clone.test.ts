// The operator's path on a fresh clone, as typed: `npm ci`, then `npx pm2 start ecosystem.config.js --env
// production` with no build step of their own; and the production install (`npm ci --omit=dev`, as a Docker
// image's prune) that keeps the PM2 the tests ran. The checkout is this working tree's files without
// node_modules or dist, copied to a temp dir.
import { execFile, execFileSync, spawn } from 'node:child_process';
import {
  appendFileSync,
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readlinkSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'chai';
import { TEST_HEALTH_TOKEN, testEnv } from '../support/services.js';
import { freePort, startCluster, type Cluster } from './support/cluster.js';
import { requestFresh } from './support/http.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** The files a clone would have: tracked ones plus new ones not ignored (what the next commit holds). */
function copyCheckout(): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'parley-clone-'));
  const files = execFileSync('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], {
    cwd: ROOT,
    encoding: 'utf8',
  })
    .split('\0')
    .filter((file) => file && existsSync(path.join(ROOT, file)));
  for (const file of files) {
    mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
    cpSync(path.join(ROOT, file), path.join(dir, file));
  }
  return dir;
}

function npm(dir: string, args: string[]): Promise<{ code: number; output: string }> {
  const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => !/^(npm_|NODE_OPTIONS$)/i.test(name)));
  return new Promise((resolve) => {
    execFile('npm', args, { cwd: dir, env, timeout: 300_000, maxBuffer: 32 * 1024 * 1024 }, (error, stdout, stderr) => {
      resolve({ code: error ? Number((error as { code?: number }).code ?? 1) : 0, output: `${stdout}\n${stderr}` });
    });
  });
}

/** /health's body once the server at `url` answers, polling until `timeoutMs`. */
async function healthWithin(url: string, timeoutMs: number, output: () => string): Promise<{ pid: number }> {
  for (const until = Date.now() + timeoutMs; Date.now() < until; await sleep(300)) {
    const reply = await requestFresh(`${url}/health`, 'GET', undefined, TEST_HEALTH_TOKEN).catch(() => undefined);
    if (reply?.status === 200) return reply.body;
  }
  throw new Error(`no healthy server at ${url} within ${timeoutMs} ms:\n${output().slice(-3000)}`);
}

const version = (dir: string, pkg: string) =>
  JSON.parse(readFileSync(path.join(dir, 'node_modules', pkg, 'package.json'), 'utf8')).version as string;

describe('fresh clone: install and start as the operator types it', function () {
  this.timeout(400_000);
  let dir: string;
  let cluster: Cluster | undefined;

  before(() => {
    dir = copyCheckout();
  });

  afterEach(async () => {
    await cluster?.stop();
    cluster = undefined;
  });

  after(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  async function expectClusterServes(): Promise<void> {
    cluster = await startCluster({}, { root: dir, npx: true });
    const pm2Version = (await cluster.pm2('--version')).trim().split('\n').at(-1);
    expect(pm2Version).to.equal(version(ROOT, 'pm2'));
    const pids = new Set<number>();
    for (let i = 0; i < 10; i += 1) {
      const health = await requestFresh(`${cluster.url}/health`, 'GET', undefined, TEST_HEALTH_TOKEN);
      expect(health.status).to.equal(200);
      expect(health.body.version).to.equal(JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8')).version);
      pids.add(health.body.pid);
    }
    expect(pids.size, 'both instances answered').to.equal(2);
  }

  it('when `npm ci` has run, then dist/ is built, `npx pm2` is pm2 7 and `npx pm2 start ecosystem.config.js --env production` serves on two instances', async () => {
    const install = await npm(dir, ['ci', '--no-audit', '--no-fund']);
    expect(install.code, install.output.slice(-3000)).to.equal(0);
    expect(existsSync(path.join(dir, 'dist', 'main.js')), 'prepare built dist/').to.equal(true);
    expect(readlinkSync(path.join(dir, 'node_modules', '.bin', 'pm2'))).to.equal(path.join('..', 'pm2', 'bin', 'pm2'));
    expect(
      readFileSync(path.join(dir, 'node_modules', '@socket.io', 'sticky', 'index.js'), 'utf8'),
      'the sticky patch applied',
    ).to.include('Parley patch');
    await expectClusterServes();
  });

  it('when `npm run dev` runs with a .env file, then the server takes its settings from it and restarts when a source file changes', async () => {
    const port = await freePort();
    writeFileSync(
      path.join(dir, '.env'),
      Object.entries({
        ...testEnv({ NODE_ENV: 'development', PORT: String(port), HOST: '127.0.0.1', LOG_LEVEL: 'warn' }),
      })
        .map(([name, value]) => `${name}=${value}`)
        .join('\n'),
    );
    const env = Object.fromEntries(
      Object.entries(process.env).filter(
        ([name]) => !/^(npm_|NODE_OPTIONS$|PORT$|HOST$|DATABASE_URL$|REDIS_|NODE_APP_INSTANCE$)/i.test(name),
      ),
    );
    // Its own process group, so the whole tree (npm, tsx watch, the server) is killed by this pid.
    const dev = spawn('npm', ['run', 'dev'], { cwd: dir, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    dev.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    dev.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    try {
      const first = await healthWithin(`http://127.0.0.1:${port}`, 60_000, () => output);
      appendFileSync(path.join(dir, 'src', 'main.ts'), '\n// touched by the dev test\n');
      let second = first;
      for (const until = Date.now() + 60_000; second.pid === first.pid && Date.now() < until; await sleep(300)) {
        second = await healthWithin(`http://127.0.0.1:${port}`, 60_000, () => output).catch(() => first);
      }
      expect(second.pid, output.slice(-2000)).to.not.equal(first.pid);
    } finally {
      process.kill(-dev.pid!, 'SIGKILL');
    }
  });

  it('when `npm ci --omit=dev` runs over the built tree, then it succeeds without dev tools and the same command still serves', async () => {
    const install = await npm(dir, ['ci', '--omit=dev', '--no-audit', '--no-fund']);
    expect(install.code, install.output.slice(-3000)).to.equal(0);
    // Not TypeScript: npm keeps it as an optional peer of a production dependency (bull-board's valibot); it is
    // harmless there, and `prepare` looks for Vite before it builds.
    for (const devOnly of ['vite', 'patch-package', '@socket.io/pm2', 'mocha']) {
      expect(existsSync(path.join(dir, 'node_modules', devOnly)), devOnly).to.equal(false);
    }
    expect(version(dir, 'pm2')).to.equal(version(ROOT, 'pm2'));
    await expectClusterServes();
  });
});
