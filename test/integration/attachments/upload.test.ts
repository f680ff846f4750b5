// Uploads on the local store: what is accepted, and every kind of bad upload answered with the contract's error,
// nothing left half-written (no temporary file, no object, no row), the process still serving.
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createHash } from 'node:crypto';
import { expect } from 'chai';
import pg from 'pg';
import { register, request, type Account } from '../../support/client.js';
import { startTestApp, type TestApp } from '../../support/app.js';
import { testDatabaseUrl } from '../../support/services.js';
import { multipart, png, postRaw, upload, uploadTruncated } from '../../support/attachments.js';
import { attachmentSchema, errorSchema } from '../../../src/http/openapi.js';

async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true }).catch(() => []);
  return entries.filter((entry) => entry.isFile()).map((entry) => path.join(entry.parentPath, entry.name));
}

describe('attachments: uploads (local store)', function () {
  this.timeout(60_000);
  let app: TestApp;
  let dir: string;
  let alice: Account;
  const db = new pg.Pool({ connectionString: testDatabaseUrl(), max: 2 });
  const rowsOf = async (who: Account) =>
    (
      await db.query(
        'SELECT id, name, size, content_type, sha256, storage_key FROM attachments WHERE uploader_id = $1 ORDER BY id',
        [who.user.id],
      )
    ).rows;

  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'parley-attachments-'));
    app = await startTestApp({ ATTACHMENTS_DIR: dir, ATTACHMENT_MAX_BYTES: '1mb', ATTACHMENT_QUOTA_MB: '2' });
  });
  after(async () => {
    await app.close();
    await db.end();
    await rm(dir, { recursive: true, force: true });
  });
  beforeEach(async () => {
    alice = await register(app.url);
  });

  const expectNothingLeft = async (who: Account) => {
    expect(await filesUnder(path.join(dir, 'incoming')), 'temporary files').to.deep.equal([]);
    expect(await rowsOf(who), 'attachment rows').to.deep.equal([]);
    expect((await request(app.url, 'GET', '/health/live')).status).to.equal(200);
  };

  it('when a PNG is uploaded, then it is stored with its sniffed type, size and SHA-256, and the bytes are on disk', async () => {
    const bytes = await png();
    const reply = await upload(app.url, alice, { name: 'cat.png', contentType: 'text/plain', bytes });
    expect(reply.status, JSON.stringify(reply.body)).to.equal(201);
    const { attachment } = reply.body;
    expect(attachment).to.include({
      name: 'cat.png',
      size: bytes.length,
      contentType: 'image/png',
      sha256: createHash('sha256').update(bytes).digest('hex'),
    });
    expect(attachment.id).to.match(/^\d+$/);
    expect(attachmentSchema.safeParse(attachment).success, 'the documented Attachment shape').to.equal(true);
    const stored = await filesUnder(path.join(dir, 'objects'));
    expect(stored).to.have.length(1);
    expect(await filesUnder(path.join(dir, 'incoming'))).to.deep.equal([]);
  });

  it('when a text file is uploaded, then it is text/plain whatever the client claimed', async () => {
    const reply = await upload(app.url, alice, {
      name: 'notes.txt',
      contentType: 'image/png',
      bytes: Buffer.from('héllo wörld\n'.repeat(500)),
    });
    expect(reply.status).to.equal(201);
    expect(reply.body.attachment.contentType).to.equal('text/plain');
  });

  it('when the file is over ATTACHMENT_MAX_BYTES, then 413 payload_too_large while streaming (chunked, no length to check), and no temporary file, object or row is left', async () => {
    const objectsBefore = (await filesUnder(path.join(dir, 'objects'))).length;
    const { body, contentType } = multipart([{ name: 'big.txt', bytes: Buffer.alloc(8 * 1024 * 1024, 'z') }]);
    const reply = await postRaw(app.url, '/api/attachments', alice.accessToken, body, contentType, { chunked: true });
    expect(reply.status).to.equal(413);
    expect(reply.body.error.code).to.equal('payload_too_large');
    expect(reply.body.error.details.maxBytes).to.equal(1024 * 1024);
    expect(errorSchema.safeParse(reply.body).success, 'the documented Error shape').to.equal(true);
    await expectNothingLeft(alice);
    expect(await filesUnder(path.join(dir, 'objects'))).to.have.length(objectsBefore);
  });

  it('when the declared Content-Length is already over the limit, then 413 before the body is read', async () => {
    const { body, contentType } = multipart([{ name: 'big.bin', bytes: Buffer.alloc(3 * 1024 * 1024, 7) }]);
    const reply = await postRaw(app.url, '/api/attachments', alice.accessToken, body, contentType);
    expect(reply.status).to.equal(413);
    expect(reply.body.error.code).to.equal('payload_too_large');
    await expectNothingLeft(alice);
  });

  it('when the file is exactly ATTACHMENT_MAX_BYTES, then it is accepted; one byte more inside a body whose Content-Length passes, and the stream check answers 413', async () => {
    const exact = await upload(app.url, alice, { name: 'exact.txt', bytes: Buffer.alloc(1024 * 1024, 'a') });
    expect(exact.status).to.equal(201);
    expect(exact.body.attachment.size).to.equal(1024 * 1024);
    await db.query('DELETE FROM attachments WHERE id = $1', [exact.body.attachment.id]);
    const reply = await upload(app.url, alice, { name: 'edge.txt', bytes: Buffer.alloc(1024 * 1024 + 1, 'a') });
    expect(reply.status).to.equal(413);
    expect(reply.body.error.code).to.equal('payload_too_large');
    await expectNothingLeft(alice);
  });

  it('when the content type is not allowed or spoofed, then 400 validation_failed names the sniffed type', async () => {
    const html = await upload(app.url, alice, {
      name: 'page.txt',
      contentType: 'text/plain',
      bytes: Buffer.from('<!DOCTYPE html><script>alert(1)</script>'),
    });
    expect(html.status).to.equal(400);
    expect(html.body.error).to.include({ code: 'validation_failed' });
    expect(html.body.error.details.contentType).to.equal('text/html');
    const svg = await upload(app.url, alice, {
      name: 'logo.png',
      contentType: 'image/png',
      bytes: Buffer.from('<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"></svg>'),
    });
    expect(svg.status).to.equal(400);
    expect(svg.body.error.details.contentType).to.equal('image/svg+xml');
    const binary = await upload(app.url, alice, {
      name: 'x.png',
      contentType: 'image/png',
      bytes: Buffer.from([0, 1, 2, 3, 0, 0, 0, 9, 200, 201]),
    });
    expect(binary.status).to.equal(400);
    expect(binary.body.error.details.contentType).to.equal('unknown');
    await expectNothingLeft(alice);
  });

  it('when the multipart body is cut off, then the upload fails (400 if the client still listens) and leaves nothing behind', async () => {
    const reply = await uploadTruncated(app.url, alice, { name: 'cut.txt', bytes: Buffer.alloc(200_000, 'b') });
    if (reply !== 'closed') {
      expect(reply.status).to.equal(400);
      expect(reply.body.error.code).to.equal('validation_failed');
    }
    // The server notices the closed connection and cleans up.
    for (let i = 0; i < 50 && (await filesUnder(path.join(dir, 'incoming'))).length > 0; i++)
      await new Promise((r) => setTimeout(r, 50));
    await expectNothingLeft(alice);
  });

  it('when a body ends without its closing boundary, then 400 validation_failed', async () => {
    const { body, contentType } = multipart([{ name: 'a.txt', bytes: Buffer.from('hello there') }]);
    const reply = await postRaw(
      app.url,
      '/api/attachments',
      alice.accessToken,
      body.subarray(0, body.length - 10),
      contentType,
    );
    expect(reply.status).to.equal(400);
    expect(reply.body.error.code).to.equal('validation_failed');
    await expectNothingLeft(alice);
  });

  it('when two files come in one field (or the field is not "file", or there is no file), then 400 validation_failed', async () => {
    const two = multipart([
      { name: 'a.txt', bytes: Buffer.from('first') },
      { name: 'b.txt', bytes: Buffer.from('second') },
    ]);
    const twoReply = await postRaw(app.url, '/api/attachments', alice.accessToken, two.body, two.contentType);
    expect(twoReply.status).to.equal(400);
    expect(twoReply.body.error.code).to.equal('validation_failed');
    const other = multipart([{ field: 'upload', name: 'a.txt', bytes: Buffer.from('x') }]);
    expect(
      (await postRaw(app.url, '/api/attachments', alice.accessToken, other.body, other.contentType)).body.error.code,
    ).to.equal('validation_failed');
    const none = multipart([{ field: 'file', bytes: Buffer.from('just a field') }]);
    expect(
      (await postRaw(app.url, '/api/attachments', alice.accessToken, none.body, none.contentType)).status,
    ).to.equal(400);
    const json = await request(app.url, 'POST', '/api/attachments', { token: alice.accessToken, body: { file: 'x' } });
    expect(json.status).to.equal(400);
    expect(json.body.error.code).to.equal('validation_failed');
    await expectNothingLeft(alice);
  });

  it('when the file name climbs out of a directory, then only its last part is kept and nothing is written outside the store', async () => {
    const reply = await upload(app.url, alice, { name: '../../etc/passwd', bytes: Buffer.from('root:x:0:0\n') });
    expect(reply.status).to.equal(201);
    expect(reply.body.attachment.name).to.equal('passwd');
    const windows = await upload(app.url, alice, { name: '..\\..\\boot.ini', bytes: Buffer.from('[boot]\n') });
    expect(windows.body.attachment.name).to.equal('boot.ini');
    const outside = (await filesUnder(dir)).filter((file) => !file.startsWith(path.join(dir, 'objects') + path.sep));
    expect(outside).to.deep.equal([]);
  });

  it('when the file name has a NUL or is too long or is only dots, then 400 validation_failed and nothing is stored', async () => {
    for (const name of ['evil\u0000.png', 'a'.repeat(300) + '.txt', '..']) {
      const reply = await upload(app.url, alice, { name, bytes: Buffer.from('text') });
      expect(reply.status, name.slice(0, 20)).to.equal(400);
      expect(reply.body.error.code).to.equal('validation_failed');
    }
    await expectNothingLeft(alice);
  });

  it('when uploads would pass ATTACHMENT_QUOTA_MB, then 413 payload_too_large with the quota, even when they race', async () => {
    const chunk = Buffer.alloc(900 * 1024, 'q');
    const replies = await Promise.all(
      [1, 2, 3].map((n) => upload(app.url, alice, { name: `part${n}.txt`, bytes: chunk })),
    );
    const statuses = replies.map((reply) => reply.status).sort();
    expect(statuses).to.deep.equal([201, 201, 413]);
    const refused = replies.find((reply) => reply.status === 413)!;
    expect(refused.body.error.details.quotaBytes).to.equal(2 * 1024 * 1024);
    expect(await rowsOf(alice)).to.have.length(2);
    expect(await filesUnder(path.join(dir, 'incoming'))).to.deep.equal([]);
  });

  it('when the quota is already full, then the next upload is refused (413) before its body is read', async () => {
    const fill = Buffer.alloc(1024 * 1024, 'f');
    expect((await upload(app.url, alice, { name: 'a.txt', bytes: fill })).status).to.equal(201);
    expect((await upload(app.url, alice, { name: 'b.txt', bytes: fill })).status).to.equal(201);
    const reply = await upload(app.url, alice, { name: 'c.txt', bytes: Buffer.from('one byte too many') });
    expect(reply.status).to.equal(413);
    expect(reply.body.error.details).to.deep.equal({ quotaBytes: 2 * 1024 * 1024, usedBytes: 2 * 1024 * 1024 });
    expect(await filesUnder(path.join(dir, 'incoming'))).to.deep.equal([]);
  });

  it('when there is no credential, then 401 and the body is never stored', async () => {
    const { body, contentType } = multipart([{ name: 'a.txt', bytes: Buffer.from('anon') }]);
    const reply = await postRaw(app.url, '/api/attachments', undefined, body, contentType);
    expect(reply.status).to.equal(401);
    expect(await filesUnder(path.join(dir, 'incoming'))).to.deep.equal([]);
  });

  it('when the store cannot write, then 503 overloaded with Retry-After and no row', async () => {
    const objects = path.join(dir, 'objects');
    const moved = `${objects}.away`;
    const { rename } = await import('node:fs/promises');
    await rename(objects, moved);
    // A file where the store's directory should be: every write fails (ENOTDIR), also for root.
    await writeFile(objects, 'not a directory');
    try {
      const reply = await upload(app.url, alice, { name: 'a.txt', bytes: Buffer.from('store is broken') });
      expect(reply.status).to.equal(503);
      expect(reply.body.error.code).to.equal('overloaded');
      expect(Number(reply.headers['retry-after'])).to.be.greaterThan(0);
      await expectNothingLeft(alice);
      const health = await request(app.url, 'GET', '/health', {
        headers: { authorization: 'Bearer test-health-detail-token-0123456789' },
      });
      expect(health.body.missing).to.include('attachmentStore');
      expect(health.body.attachments).to.deep.equal({ store: 'local', answering: false });
    } finally {
      await rm(objects, { force: true });
      await rename(moved, objects);
    }
    await new Promise((resolve) => setTimeout(resolve, 1100));
    const health = await request(app.url, 'GET', '/health', {
      headers: { authorization: 'Bearer test-health-detail-token-0123456789' },
    });
    expect(health.body.attachments).to.deep.equal({ store: 'local', answering: true });
  });
});
