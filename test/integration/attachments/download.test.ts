// Downloads and thumbnails on the local store: who may read (uploader, members; 404 for everyone else, a removed
// member included), Range, ETag/If-None-Match, the headers that keep a file from running as a page, thumbnails on
// the worker pool, and a decompression bomb refused with the worker still serving.
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import pg from 'pg';
import sharp from 'sharp';
import { createGroup, register, request, type Account } from '../../support/client.js';
import { startTestApp, type TestApp } from '../../support/app.js';
import { testDatabaseUrl } from '../../support/services.js';
import { png, pngBomb, upload, uploadAndSend } from '../../support/attachments.js';

const IMMUTABLE = 'private, max-age=31536000, immutable';

describe('attachments: downloads and thumbnails (local store)', function () {
  this.timeout(60_000);
  let app: TestApp;
  let dir: string;
  let alice: Account;
  let bob: Account;
  let carol: Account;
  let group: string;
  const db = new pg.Pool({ connectionString: testDatabaseUrl(), max: 2 });
  const get = (who: Account | undefined, url: string, headers: Record<string, string> = {}) =>
    fetch(app.url + url, {
      headers: { ...(who ? { authorization: `Bearer ${who.accessToken}` } : {}), ...headers },
      redirect: 'manual',
    });
  const attach = async (bytes: Buffer, name: string) =>
    (await uploadAndSend(app.url, alice, group, { name, bytes })).attachment as {
      id: string;
      sha256: string;
      size: number;
    };

  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'parley-attachments-'));
    app = await startTestApp({
      ATTACHMENTS_DIR: dir,
      ATTACHMENT_MAX_INPUT_PIXELS: '25000000',
      ATTACHMENT_THUMBNAIL_PX: '32',
    });
  });
  after(async () => {
    await app.close();
    await db.end();
    await rm(dir, { recursive: true, force: true });
  });
  beforeEach(async () => {
    [alice, bob, carol] = await Promise.all([register(app.url), register(app.url), register(app.url)]);
    group = await createGroup(app.url, alice, [bob]);
  });

  it('when the uploader or a member downloads, then the bytes come with ETag, immutable caching, nosniff and the disposition for the type', async () => {
    const text = Buffer.from('plain words\n');
    const file = await attach(text, 'words.txt');
    for (const who of [alice, bob]) {
      const response = await get(who, `/api/attachments/${file.id}`);
      expect(response.status).to.equal(200);
      expect(Buffer.from(await response.arrayBuffer()).equals(text)).to.equal(true);
      expect(response.headers.get('etag')).to.equal(`"${file.sha256}"`);
      expect(response.headers.get('cache-control')).to.equal(IMMUTABLE);
      expect(response.headers.get('x-content-type-options')).to.equal('nosniff');
      expect(response.headers.get('content-type')).to.match(/^text\/plain/);
      expect(response.headers.get('content-disposition')).to.match(/^attachment; filename="?words\.txt"?$/);
      expect(response.headers.get('accept-ranges')).to.equal('bytes');
      expect(response.headers.get('content-length')).to.equal(String(text.length));
      expect(response.headers.get('content-security-policy')).to.include('sandbox');
    }
    const head = await fetch(`${app.url}/api/attachments/${file.id}`, {
      method: 'HEAD',
      headers: { authorization: `Bearer ${bob.accessToken}` },
    });
    expect(head.status).to.equal(200);
    expect(head.headers.get('content-length')).to.equal(String(text.length));
    expect(await head.text()).to.equal('');
    const image = await attach(await png(), 'pic.png');
    const shown = await get(bob, `/api/attachments/${image.id}`);
    expect(shown.headers.get('content-type')).to.equal('image/png');
    expect(shown.headers.get('content-disposition')).to.match(/^inline; filename="?pic\.png"?$/);
    const pdf = await attach(Buffer.from('%PDF-1.4\n1 0 obj << >> endobj\ntrailer << >>\n%%EOF\n'), 'doc.pdf');
    const downloaded = await get(bob, `/api/attachments/${pdf.id}`);
    expect(downloaded.headers.get('content-type')).to.equal('application/pdf');
    expect(downloaded.headers.get('content-disposition')).to.match(/^attachment;/);
  });

  it('when a user outside the conversation, a removed member or nobody asks, then 404 not_found (401 without a credential)', async () => {
    const file = await attach(Buffer.from('secret'), 's.txt');
    expect((await get(carol, `/api/attachments/${file.id}`)).status).to.equal(404);
    expect(((await (await get(carol, `/api/attachments/${file.id}`)).json()) as any).error.code).to.equal('not_found');
    expect((await get(bob, `/api/attachments/${file.id}`)).status).to.equal(200);
    const removed = await request(app.url, 'DELETE', `/api/conversations/${group}/members/${bob.user.id}`, {
      token: alice.accessToken,
    });
    expect(removed.status).to.equal(204);
    expect((await get(bob, `/api/attachments/${file.id}`)).status).to.equal(404);
    expect((await get(bob, `/api/attachments/${file.id}/thumbnail`)).status).to.equal(404);
    expect((await get(undefined, `/api/attachments/${file.id}`)).status).to.equal(401);
    expect((await get(alice, '/api/attachments/999999999')).status).to.equal(404);
    expect((await get(alice, '/api/attachments/..%2F..%2Fetc%2Fpasswd')).status).to.equal(404);
    // Not yet attached: the uploader only.
    const loose = (await upload(app.url, alice, { name: 'l.txt', bytes: Buffer.from('loose') })).body.attachment;
    expect((await get(alice, `/api/attachments/${loose.id}`)).status).to.equal(200);
    expect((await get(carol, `/api/attachments/${loose.id}`)).status).to.equal(404);
  });

  it('when a Range is asked for, then 206 with exactly those bytes; past the end 416 with the error shape; malformed or many ranges get the whole file', async () => {
    const bytes = Buffer.from('0123456789abcdefghij');
    const file = await attach(bytes, 'r.txt');
    const part = await get(bob, `/api/attachments/${file.id}`, { range: 'bytes=5-9' });
    expect(part.status).to.equal(206);
    expect(await part.text()).to.equal('56789');
    expect(part.headers.get('content-range')).to.equal(`bytes 5-9/${bytes.length}`);
    expect(part.headers.get('content-length')).to.equal('5');
    const suffix = await get(bob, `/api/attachments/${file.id}`, { range: 'bytes=-3' });
    expect(await suffix.text()).to.equal('hij');
    const open = await get(bob, `/api/attachments/${file.id}`, { range: 'bytes=18-' });
    expect(await open.text()).to.equal('ij');
    const beyond = await get(bob, `/api/attachments/${file.id}`, { range: 'bytes=100-200' });
    expect(beyond.status).to.equal(416);
    expect(beyond.headers.get('content-range')).to.equal(`bytes */${bytes.length}`);
    const body = (await beyond.json()) as any;
    expect(body.error.code).to.equal('range_not_satisfiable');
    expect(beyond.headers.get('content-disposition')).to.equal(null);
    for (const range of ['bytes=abc', 'items=0-1', 'bytes=0-1,5-6']) {
      const whole = await get(bob, `/api/attachments/${file.id}`, { range });
      expect(whole.status, range).to.equal(200);
      expect(await whole.text()).to.equal(bytes.toString());
    }
  });

  it('when If-None-Match carries the ETag, then 304 with no body', async () => {
    const file = await attach(Buffer.from('cache me'), 'c.txt');
    const first = await get(bob, `/api/attachments/${file.id}`);
    const etag = first.headers.get('etag')!;
    const again = await get(bob, `/api/attachments/${file.id}`, { 'if-none-match': etag });
    expect(again.status).to.equal(304);
    expect(await again.text()).to.equal('');
    expect(again.headers.get('etag')).to.equal(etag);
    expect((await get(bob, `/api/attachments/${file.id}`, { 'if-none-match': '"other"' })).status).to.equal(200);
    // Authorisation first: a stranger with the right ETag still gets 404.
    expect((await get(carol, `/api/attachments/${file.id}`, { 'if-none-match': etag })).status).to.equal(404);
  });

  it('when a thumbnail is asked for, then a small WebP is made on the worker pool once and served from the store after', async () => {
    const image = await attach(await png(400, 200), 'wide.png');
    const before = app.parley.workerPool.stats().completed;
    const thumb = await get(bob, `/api/attachments/${image.id}/thumbnail`);
    expect(thumb.status).to.equal(200);
    expect(thumb.headers.get('content-type')).to.equal('image/webp');
    const meta = await sharp(Buffer.from(await thumb.arrayBuffer())).metadata();
    expect([meta.format, meta.width, meta.height]).to.deep.equal(['webp', 32, 16]);
    expect(app.parley.workerPool.stats().completed).to.equal(before + 1);
    const cached = await get(alice, `/api/attachments/${image.id}/thumbnail`);
    expect(cached.status).to.equal(200);
    expect(app.parley.workerPool.stats().completed).to.equal(before + 1);
    expect(
      (await get(bob, `/api/attachments/${image.id}/thumbnail`, { 'if-none-match': cached.headers.get('etag')! }))
        .status,
    ).to.equal(304);
    const text = await attach(Buffer.from('not an image'), 'n.txt');
    const refused = await get(bob, `/api/attachments/${text.id}/thumbnail`);
    expect(refused.status).to.equal(400);
    expect(((await refused.json()) as any).error.code).to.equal('validation_failed');
  });

  it('when a thumbnail is asked of a pixel bomb, then 400 validation_failed, and the worker pool goes on making thumbnails', async () => {
    const bomb = pngBomb(30_000, 30_000);
    expect(bomb.length).to.be.below(200_000);
    const file = await attach(bomb, 'bomb.png');
    const reply = await get(bob, `/api/attachments/${file.id}/thumbnail`);
    expect(reply.status).to.equal(400);
    const body = (await reply.json()) as any;
    expect(body.error.code).to.equal('validation_failed');
    expect(body.error.details.maxInputPixels).to.equal(25_000_000);
    const good = await attach(await png(), 'fine.png');
    expect((await get(bob, `/api/attachments/${good.id}/thumbnail`)).status).to.equal(200);
    expect((await request(app.url, 'GET', '/health/live')).status).to.equal(200);
  });
});
