// Uploads are received on upload threads (UPLOAD_THREADS x UPLOAD_STREAMS_PER_THREAD at once, as many again
// waiting): past that, an upload is refused with 503 overloaded at once, and the ones in flight are unharmed.
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createHash } from 'node:crypto';
import { expect } from 'chai';
import { register, request, type Account } from '../../support/client.js';
import { startTestApp, type TestApp } from '../../support/app.js';
import { TEST_HEALTH_TOKEN } from '../../support/services.js';
import { until } from '../../support/sockets.js';
import { multipart, postRaw, upload } from '../../support/attachments.js';

describe('attachments: upload threads', function () {
  this.timeout(60_000);
  let app: TestApp;
  let dir: string;
  let alice: Account;

  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'parley-upload-threads-'));
    // One thread receiving one upload at a time, and one waiting: the third at once is one too many.
    app = await startTestApp({ ATTACHMENTS_DIR: dir, UPLOAD_THREADS: '1', UPLOAD_STREAMS_PER_THREAD: '1' });
    alice = await register(app.url);
  });
  after(async () => {
    await app.close();
    await rm(dir, { recursive: true, force: true });
  });

  const uploadThreads = async () =>
    (await request(app.url, 'GET', '/health', { headers: { authorization: `Bearer ${TEST_HEALTH_TOKEN}` } })).body
      .uploadThreads;

  it('when every upload place and the queue behind them are taken, then the next upload gets 503 overloaded with Retry-After, and the held ones complete intact', async () => {
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    const files = [Buffer.alloc(700_000, 'a'), Buffer.alloc(700_000, 'b')];
    const replies = files.map((bytes, n) => {
      const { body, contentType } = multipart([{ name: `held-${n}.txt`, bytes }]);
      return postRaw(app.url, '/api/attachments', alice.accessToken, body, contentType, { holdUntil: held });
    });
    await until(async () => (await uploadThreads()).queued === 1, 10_000, 'the second upload waiting for the thread');
    expect(await uploadThreads()).to.include({ threads: 1, maxThreads: 1, running: 1, maxQueue: 1 });

    const refused = await upload(app.url, alice, { name: 'one-too-many.txt', bytes: Buffer.from('no room') });
    expect(refused.status).to.equal(503);
    expect(refused.body.error.code).to.equal('overloaded');
    expect(Number(refused.headers['retry-after'])).to.be.greaterThan(0);
    const series = await (await fetch(`${app.url}/metrics`)).text();
    expect(series).to.match(/^parley_worker_pool_running\{pool="upload"[^}]*\} 1$/m);
    expect(series).to.match(/^parley_worker_pool_queued\{pool="upload"[^}]*\} 1$/m);
    expect(series).to.match(
      /^parley_worker_task_failures_total\{task="receiveUploadStream",reason="overloaded"[^}]*\} 1$/m,
    );

    release();
    const stored = await Promise.all(replies);
    for (const [n, reply] of stored.entries()) {
      expect(reply.status, JSON.stringify(reply.body)).to.equal(201);
      expect(reply.body.attachment).to.include({
        size: files[n]!.length,
        sha256: createHash('sha256').update(files[n]!).digest('hex'),
      });
    }
    expect(await readdir(path.join(dir, 'incoming')), 'temporary files').to.deep.equal([]);
    // With the place free again, uploads are taken as before.
    expect((await upload(app.url, alice, { name: 'after.txt', bytes: Buffer.from('room again') })).status).to.equal(
      201,
    );
  });
});
