// The shipped parley.conf in front of two tiny upstream servers (no Parley): which requests nginx replays on the
// other host when one answers 502, and which headers reach the app. Each case gets a fresh nginx, so the failure
// counts of one (max_fails) do not decide the next.
import { expect } from 'chai';
import http from 'node:http';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import os from 'node:os';
import path from 'node:path';
import type { Deployment } from '../../deploy/lib/hosts.js';
import { startNginx, type TopologyNginx } from '../../deploy/topology/nginx.js';
import { freePort } from '../../deploy/topology/ports.js';

interface Upstream {
  port: number;
  /** Requests seen, as "METHOD /path", health checks excluded. */
  seen: string[];
  /** Headers of the last request. */
  headers: http.IncomingHttpHeaders;
  server: http.Server;
}

/** An upstream that answers `status` to everything but /health/* (so nginx's start-up probe counts no failure). */
async function upstream(status: number): Promise<Upstream> {
  const port = await freePort();
  const state: Upstream = { port, seen: [], headers: {}, server: undefined as unknown as http.Server };
  state.server = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      if (!req.url?.startsWith('/health/')) state.seen.push(`${req.method} ${req.url}`);
      state.headers = req.headers;
      res.writeHead(req.url?.startsWith('/health/') ? 200 : status, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ port }));
    });
  });
  await new Promise<void>((resolve) => state.server.listen(port, '127.0.0.1', resolve));
  return state;
}

function hostsFor(
  dir: string,
  upstreams: Upstream[],
  sets: Array<'blue' | 'green'> = upstreams.map(() => 'blue'),
): Deployment {
  return {
    nginx: { confDir: path.join(dir, 'parley'), drainDir: path.join(dir, 'drain'), reload: 'true' },
    hosts: upstreams.map((u, i) => ({
      name: `h${i + 1}`,
      address: '127.0.0.1',
      port: u.port,
      instances: 1,
      set: sets[i]!,
      pm2: { appDir: '/nonexistent', envFile: '/nonexistent', bin: 'true' },
    })),
  };
}

function send(url: string, method: string, pathname: string, headers: Record<string, string> = {}): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      `${url}${pathname}`,
      { method, agent: false, headers: { 'content-type': 'application/json', ...headers } },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      },
    );
    req.on('error', reject);
    req.end(method === 'GET' ? undefined : '{}');
  });
}

/** The port of the upstream that answered a GET (the upstreams answer with their port). */
function servedBy(url: string): Promise<number> {
  return new Promise((resolve, reject) => {
    http
      .get(`${url}/api/me`, { agent: false }, (res) => {
        let text = '';
        res.on('data', (chunk) => (text += chunk));
        res.on('end', () => resolve(JSON.parse(text).port));
      })
      .on('error', reject);
  });
}

describe('nginx/parley.conf: replays and headers', function () {
  this.timeout(30_000);
  let dir: string;
  let nginx: TopologyNginx | undefined;
  let failing: Upstream;
  let healthy: Upstream;

  beforeEach(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'parley-nginx-routing-'));
    failing = await upstream(502);
    healthy = await upstream(200);
    nginx = await startNginx(path.join(dir, 'nginx'), await freePort(), hostsFor(dir, [failing, healthy]));
  });
  afterEach(async () => {
    await nginx?.process.stop('SIGQUIT');
    for (const u of [failing, healthy]) u.server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const fourTimes = async (method: string, pathname: string) => {
    const statuses: number[] = [];
    for (let i = 0; i < 4; i += 1) statuses.push(await send(nginx!.url, method, pathname));
    return statuses;
  };

  it('when a host answers 502 to a GET, then nginx replays it on the other host and the client gets 200', async () => {
    expect(await fourTimes('GET', '/api/conversations')).to.deep.equal([200, 200, 200, 200]);
    expect(failing.seen.length, 'the failing host was tried').to.be.greaterThan(0);
  });

  it('when a host answers 502 to a message send, then nginx replays it (idempotent on clientMsgId)', async () => {
    expect(await fourTimes('POST', '/api/conversations/42/messages')).to.deep.equal([200, 200, 200, 200]);
    expect(failing.seen).to.include('POST /api/conversations/42/messages');
  });

  for (const route of ['/api/auth/login', '/api/auth/register', '/api/auth/refresh', '/api/conversations']) {
    it(`when a host answers 502 to POST ${route}, then nginx does not replay it: the client sees the 502`, async () => {
      const statuses = await fourTimes('POST', route);
      const failed = statuses.filter((status) => status === 502).length;
      expect(failed, `statuses ${statuses}`).to.be.greaterThan(0);
      // Each request reached exactly one host: the 502s are the failing host's, none went on to the other.
      expect(failing.seen.length).to.equal(failed);
      expect(healthy.seen.length).to.equal(4 - failed);
    });
  }

  it('when a client sends its own X-Forwarded-For, then the app gets only the address nginx saw; X-Request-Id is kept or made', async () => {
    failing.server.close();
    const statusWithOwnId = await send(nginx!.url, 'GET', '/api/me', {
      'x-forwarded-for': '203.0.113.9',
      'x-request-id': 'caller-id-1',
    });
    expect(statusWithOwnId).to.equal(200);
    expect(healthy.headers['x-forwarded-for']).to.equal('127.0.0.1');
    expect(healthy.headers['x-request-id']).to.equal('caller-id-1');
    await send(nginx!.url, 'GET', '/api/me');
    expect(healthy.headers['x-request-id']).to.match(/^[0-9a-f]{32}$/);
    // Upstream keepalive: nginx sends no `Connection: close`.
    expect(healthy.headers.connection).to.equal(undefined);
  });
});

describe('nginx/live.conf: the blue-green switch', function () {
  this.timeout(30_000);

  it('when live.conf says green and nginx reloads, then new requests go to the green host instead of the blue one', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'parley-nginx-bluegreen-'));
    const blue = await upstream(200);
    const green = await upstream(200);
    const nginx = await startNginx(
      path.join(dir, 'nginx'),
      await freePort(),
      hostsFor(dir, [blue, green], ['blue', 'green']),
    );
    try {
      for (let i = 0; i < 4; i += 1) expect(await servedBy(nginx.url)).to.equal(blue.port);
      const live = path.join(nginx.prefix, 'parley', 'live.conf');
      const text = readFileSync(live, 'utf8');
      expect(text.match(/^set \$parley_live \w+;$/gm), 'one line to change').to.deep.equal(['set $parley_live blue;']);
      writeFileSync(live, text.replace('set $parley_live blue;', 'set $parley_live green;'));
      await nginx.reload();
      // The reload is asynchronous: the master starts new workers, and an old worker may accept a connection or
      // two until it has handled its shutdown signal. Settled means ten green answers in a row.
      const deadline = Date.now() + 15_000;
      for (let streak = 0; streak < 10 && Date.now() < deadline;) {
        streak = (await servedBy(nginx.url)) === green.port ? streak + 1 : 0;
        if (streak === 0) await sleep(50);
      }
      for (let i = 0; i < 4; i += 1) expect(await servedBy(nginx.url)).to.equal(green.port);
    } finally {
      await nginx.process.stop('SIGQUIT');
      blue.server.close();
      green.server.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
