// The web client's static serving (src/http/static.ts) over a build-shaped fixture directory: which file, which
// encoding, which cache policy, and what it leaves to the rest of the app.
import { expect } from 'chai';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { brotliCompressSync, gzipSync } from 'node:zlib';
import Koa from 'koa';
import { pino } from 'pino';
import type { ParleyState } from '../../src/http/context.js';
import { IMMUTABLE, REVALIDATE, serveWebClient, WEB_CLIENT_CSP } from '../../src/http/static.js';
import { fetchRaw } from '../support/raw-http.js';

const silent = pino({ level: 'silent' });
const SCRIPT = Buffer.from(`console.log(${JSON.stringify('x'.repeat(2000))});`);

function writeBuild(dir: string): void {
  mkdirSync(path.join(dir, 'assets'), { recursive: true });
  mkdirSync(path.join(dir, 'api'), { recursive: true });
  writeFileSync(path.join(dir, 'index.html'), '<!doctype html><title>t</title>');
  writeFileSync(path.join(dir, 'assets', 'app-AbCdEf12.js'), SCRIPT);
  writeFileSync(path.join(dir, 'assets', 'app-AbCdEf12.js.br'), brotliCompressSync(SCRIPT));
  writeFileSync(path.join(dir, 'assets', 'app-AbCdEf12.js.gz'), gzipSync(SCRIPT));
  // A file the build would never make, under a path that belongs to the API: never served.
  writeFileSync(path.join(dir, 'api', 'me'), 'not the API');
}

async function serve(dir: string): Promise<{ url: string; close(): Promise<void> }> {
  const app = new Koa<ParleyState>();
  app.use(serveWebClient(dir, silent));
  app.use((ctx) => {
    ctx.status = 404;
    ctx.body = { error: { code: 'not_found', message: 'next' } };
  });
  const server = http.createServer(app.callback());
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

describe('web client static serving', () => {
  let dir: string;
  let server: { url: string; close(): Promise<void> };
  before(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'parley-web-'));
    writeBuild(dir);
    server = await serve(dir);
  });
  after(async () => {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('when / is asked for, then index.html comes with no-cache, the CSP and an ETag that answers 304', async () => {
    const index = await fetchRaw(`${server.url}/`, {});
    expect(index.status).to.equal(200);
    expect(index.headers['content-type']).to.equal('text/html; charset=utf-8');
    expect(index.headers['cache-control']).to.equal(REVALIDATE);
    expect(index.headers['content-security-policy']).to.equal(WEB_CLIENT_CSP);
    expect(index.body.toString()).to.include('<title>t</title>');
    expect((await fetchRaw(`${server.url}/`, { 'if-none-match': String(index.headers.etag) })).status).to.equal(304);
    expect((await fetchRaw(`${server.url}/index.html`, {})).body.equals(index.body)).to.equal(true);
  });

  it('when an asset is asked for, then it is immutable and its encoding follows Accept-Encoding and its q-values', async () => {
    const url = `${server.url}/assets/app-AbCdEf12.js`;
    const cases: Array<[string | undefined, string | undefined]> = [
      ['gzip, deflate, br', 'br'],
      ['gzip', 'gzip'],
      ['br;q=0, gzip', 'gzip'],
      ['deflate', undefined],
      [undefined, undefined],
    ];
    for (const [accept, encoding] of cases) {
      const response = await fetchRaw(url, accept ? { 'accept-encoding': accept } : {});
      expect(response.status).to.equal(200);
      expect(response.headers['cache-control']).to.equal(IMMUTABLE);
      expect(response.headers['content-type']).to.equal('text/javascript; charset=utf-8');
      expect(response.headers['content-encoding'], String(accept)).to.equal(encoding);
      expect(response.decoded().equals(SCRIPT)).to.equal(true);
    }
    const br = await fetchRaw(url, { 'accept-encoding': 'br' });
    const gzip = await fetchRaw(url, { 'accept-encoding': 'gzip' });
    expect(br.headers.etag, 'each representation has its own ETag').not.to.equal(gzip.headers.etag);
  });

  it('when HEAD is asked, then headers come without a body', async () => {
    const head = await fetchRaw(`${server.url}/assets/app-AbCdEf12.js`, { 'accept-encoding': 'identity' }, 'HEAD');
    expect(head.status).to.equal(200);
    expect(Number(head.headers['content-length'])).to.equal(SCRIPT.length);
    expect(head.body.length).to.equal(0);
  });

  it('when the method is not GET or HEAD, the file is unknown, or the path belongs to the API, then the request goes on', async () => {
    for (const [method, pathname] of [
      ['POST', '/'],
      ['DELETE', '/index.html'],
      ['GET', '/assets/other-12345678.js'],
      ['GET', '/api/me'],
      ['GET', '/API/me'],
    ] as const) {
      const response = await fetchRaw(server.url + pathname, {}, method);
      expect(response.status, `${method} ${pathname}`).to.equal(404);
      expect(response.body.toString(), `${method} ${pathname}`).to.include('"next"');
    }
  });

  it('when there is no build, then nothing is served and every request goes on', async () => {
    const empty = mkdtempSync(path.join(os.tmpdir(), 'parley-web-empty-'));
    const bare = await serve(empty);
    try {
      expect((await fetchRaw(`${bare.url}/`, {})).status).to.equal(404);
    } finally {
      await bare.close();
      rmSync(empty, { recursive: true, force: true });
    }
  });
});
