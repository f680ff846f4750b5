// The shipped nginx/ files as an operator drops them in: real `nginx -t`, and the generated parts match what
// `npm run deploy:nginx` renders from deploy/hosts.example.json (so the example and the docs cannot drift).
import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { loadDeployment, parseDeployment } from '../../deploy/lib/hosts.js';
import { renderNginxFiles } from '../../deploy/lib/nginx-config.js';
import { drain, drainedHosts, undrain } from '../../deploy/lib/drain.js';
import { REPO } from '../../deploy/topology/release.js';

const run = promisify(execFile);
const SHIPPED = path.join(REPO, 'nginx');
const EXAMPLE = path.join(REPO, 'deploy', 'hosts.example.json');

/** `nginx -t` on a prefix holding nginx/nginx.conf and the parley/ directory (the shipped one unless given). */
async function nginxTest(parleyDir = SHIPPED): Promise<{ ok: boolean; output: string }> {
  const prefix = await mkdtemp(path.join(os.tmpdir(), 'parley-nginx-t-'));
  try {
    await mkdir(path.join(prefix, 'logs'));
    await mkdir(path.join(prefix, 'temp'));
    await copyFile(path.join(SHIPPED, 'nginx.conf'), path.join(prefix, 'nginx.conf'));
    await symlink(parleyDir, path.join(prefix, 'parley'));
    const { stderr } = await run('nginx', ['-t', '-p', prefix, '-c', path.join(prefix, 'nginx.conf')]);
    return { ok: true, output: stderr };
  } catch (error) {
    return { ok: false, output: String((error as { stderr?: string }).stderr ?? error) };
  } finally {
    await rm(prefix, { recursive: true, force: true });
  }
}

describe('nginx/: the shipped configuration', () => {
  it('when nginx -t reads the shipped files, then it accepts them without a warning', async () => {
    const { ok, output } = await nginxTest();
    expect(ok, output).to.equal(true);
    expect(output).to.include('test is successful');
    expect(output, 'a warning such as "load balancing method redefined"').not.to.include('[warn]');
  });

  it('when uploads go through nginx, then /api/attachments takes ATTACHMENT_MAX_BYTES (default) plus framing and streams it; other bodies keep BODY_LIMIT', async () => {
    const { loadConfig } = await import('../../src/config.js');
    const conf = await readFile(path.join(SHIPPED, 'parley.conf'), 'utf8');
    const upload = /location = \/api\/attachments \{([^}]*)\}/.exec(conf)?.[1] ?? '';
    const size = /client_max_body_size (\d+)m;/.exec(upload);
    expect(size, 'client_max_body_size in the attachments location').to.not.equal(null);
    const limit = Number(size![1]) * 1024 * 1024;
    const { maxBytes } = loadConfig({}).attachments;
    expect(limit).to.be.at.least(maxBytes);
    // No more than a megabyte of framing: nginx refuses what the app would refuse anyway.
    expect(limit - maxBytes).to.be.at.most(1024 * 1024);
    expect(upload).to.include('proxy_request_buffering off;');
    expect(conf).to.match(/^ {4}client_max_body_size 100k;/m);
  });

  it('when deploy:nginx renders deploy/hosts.example.json, then the result is the shipped upstreams.conf and drain.conf', async () => {
    const rendered = renderNginxFiles(loadDeployment(EXAMPLE));
    for (const [name, text] of Object.entries(rendered))
      expect(await readFile(path.join(SHIPPED, name), 'utf8'), name).to.equal(text);
  });

  it('when a rendered file is broken, then nginx -t fails (the check above can fail)', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'parley-nginx-bad-'));
    try {
      for (const name of ['parley.conf', 'site.conf', 'live.conf', 'drain.conf'])
        await copyFile(path.join(SHIPPED, name), path.join(dir, name));
      // `backup` beside `hash` is an error for nginx (PITFALLS, nginx gotchas).
      await writeFile(
        path.join(dir, 'upstreams.conf'),
        'upstream parley_blue_api { server 127.0.0.1:1 backup; hash $remote_addr; }\n',
      );
      const { ok, output } = await nginxTest(dir);
      expect(ok).to.equal(false);
      expect(output).to.match(/emerg/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('when a hosts file has a bad or repeated host, then it is refused with the field named', () => {
    const example = JSON.parse(JSON.stringify(loadDeployment(EXAMPLE)));
    expect(() =>
      parseDeployment({ ...example, hosts: [{ ...example.hosts[0], name: 'Bad Name' }] }, 'x.json'),
    ).to.throw(/hosts\.0\.name/);
    expect(() => parseDeployment({ ...example, hosts: [example.hosts[0], example.hosts[0]] }, 'x.json')).to.throw(
      /unique \(app-1\)/,
    );
  });
});

describe('deploy/lib/drain: one host out at a time', () => {
  it('when a host is drained, then a second drain is refused, and so is draining the only host of a set', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'parley-drain-'));
    try {
      const example = loadDeployment(EXAMPLE);
      const deployment = { ...example, nginx: { ...example.nginx, ssh: undefined, drainDir: dir } };
      const [app1, app2] = deployment.hosts;
      await drain(deployment, app1!);
      expect(await drainedHosts(deployment)).to.deep.equal(['app-1']);
      let refused = '';
      await drain(deployment, app2!).catch((error: Error) => (refused = error.message));
      expect(refused).to.equal('cannot drain app-2: app-1 is drained already (one host at a time)');
      await undrain(deployment, app1!);
      expect(await drainedHosts(deployment)).to.deep.equal([]);
      const alone = { ...deployment, hosts: [app1!] };
      await drain(alone, app1!).catch((error: Error) => (refused = error.message));
      expect(refused).to.equal('cannot drain app-1: it is the only host of the blue set');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
