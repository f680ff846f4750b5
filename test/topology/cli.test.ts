// `npm run topology:up` / `topology:down` as a developer runs them: up prints the URL and what runs where, a
// second up says one runs already, down stops everything it started.
import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { REPO } from '../../deploy/topology/release.js';
import { stateFile } from '../../deploy/topology/settings.js';

const TSX = path.join(REPO, 'node_modules', 'tsx', 'dist', 'cli.mjs');

function script(file: string, env: Record<string, string>): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [TSX, path.join(REPO, 'deploy', 'topology', file)],
      { cwd: REPO, env: { ...process.env, ...env }, timeout: 170_000 },
      (error, stdout, stderr) =>
        resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, output: `${stdout}${stderr}` }),
    );
  });
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe('topology: npm run topology:up / topology:down', function () {
  // Up and down scripts of npm run topology:up (which also builds) and topology:down.
  const parent = mkdtempSync(path.join(os.tmpdir(), 'parley-topology-cli-'));
  // The postgres user and nginx's workers must be able to reach into the topology's directory.
  chmodSync(parent, 0o755);
  const env = {
    TOPOLOGY_DIR: path.join(parent, 'topology'),
    TOPOLOGY_PORT: '0',
    TOPOLOGY_HOSTS: '2',
    TOPOLOGY_INSTANCES: '1',
  };
  let supervisorPid = 0;

  after(async () => {
    if (supervisorPid && alive(supervisorPid)) await script('down.ts', env);
    rmSync(parent, { recursive: true, force: true });
  });

  it('when up runs, then the nginx URL answers ready; a second up says one runs; down stops it and its processes', async function () {
    this.timeout(170_000);
    const up = await script('up.ts', env);
    expect(up.code, up.output).to.equal(0);
    const url = /nginx\s+(http:\/\/127\.0\.0\.1:\d+)/.exec(up.output)?.[1];
    expect(url, up.output).to.be.a('string');
    expect(up.output)
      .to.match(/host-1 .*PM2 1 instances/)
      .and.to.match(/host-2 /)
      .and.to.match(/postgres\s+primary 127\.0\.0\.1:\d+, replica/);
    expect((await fetch(`${url}/health/ready`)).status).to.equal(200);
    supervisorPid = JSON.parse(readFileSync(stateFile(env.TOPOLOGY_DIR), 'utf8')).pid;
    const pm2Daemons = ['host-1', 'host-2'].map((host) =>
      Number(readFileSync(path.join(env.TOPOLOGY_DIR, 'hosts', host, 'pm2', 'pm2.pid'), 'utf8')),
    );
    expect(pm2Daemons.every(alive)).to.equal(true);

    const again = await script('up.ts', env);
    expect(again.code).to.equal(0);
    expect(again.output).to.include(`A topology is already running (pid ${supervisorPid}) at ${url}`);

    const down = await script('down.ts', env);
    expect(down.code, down.output).to.equal(0);
    expect(down.output).to.include('topology stopped');
    expect(alive(supervisorPid)).to.equal(false);
    // `pm2 kill` returns as the daemon exits; give the kernel a moment to reap it.
    for (let waited = 0; pm2Daemons.some(alive) && waited < 5_000; waited += 100) await sleep(100);
    expect(pm2Daemons.some(alive), 'PM2 daemons still running').to.equal(false);
    expect(existsSync(env.TOPOLOGY_DIR)).to.equal(false);
    await fetch(`${url}/health/live`).then(
      () => expect.fail('nginx still answers'),
      () => undefined,
    );
  });
});
