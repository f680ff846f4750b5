// Uploads are received on upload threads (UPLOAD_THREADS x UPLOAD_STREAMS_PER_THREAD at once, as many again
// waiting): past that, an upload is refused with 503 overloaded at once, and the ones in flight are unharmed.
import { mkdtemp, readdir, readlink, rm } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { createHash } from 'node:crypto';
import { expect } from 'chai';
import { register, request, type Account } from '../../support/client.js';
import { startTestApp, type TestApp } from '../../support/app.js';
import { TEST_HEALTH_TOKEN } from '../../support/services.js';
import { until } from '../../support/sockets.js';
import { multipart, postRaw, upload } from '../../support/attachments.js';
import { WorkerPool } from '../../../src/cpu/worker-pool.js';
import { receiveUpload } from '../../../src/http/multipart-upload.js';

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

describe('attachments: an upload thread that dies mid-upload', function () {
  this.timeout(30_000);
  let dir: string;
  let server: http.Server | undefined;

  before(async () => (dir = await mkdtemp(path.join(os.tmpdir(), 'parley-upload-death-'))));
  after(async () => {
    server?.close();
    await rm(dir, { recursive: true, force: true });
  });

  /** This process's open descriptors that point into `dir` (a removed file reads "<path> (deleted)"). */
  const descriptorsInto = async (where: string) => {
    const links = await Promise.all(
      (await readdir('/proc/self/fd')).map((fd) => readlink(`/proc/self/fd/${fd}`).catch(() => '')),
    );
    return links.filter((target) => target.startsWith(where));
  };

  it('when the thread is terminated while receiving, then that upload fails, and neither its file nor its descriptor is left', async () => {
    const uploads = new WorkerPool({
      maxThreads: 1,
      maxQueue: 1,
      tasksPerThread: 1,
      idleTimeoutMs: 1_000,
      maxOldGenerationSizeMb: 64,
      // close() terminates a thread whose task outlasts this: the thread dies mid-upload.
      closeTimeoutMs: 100,
      niceIncrement: 0,
    });
    const received = new Promise<{ ok: boolean }>((resolve) => {
      server = http.createServer((req, res) => {
        receiveUpload(req, uploads, { incomingDir: dir, maxBytes: 10_000_000, nameMaxChars: 255 }).then(
          () => resolve({ ok: true }),
          () => resolve({ ok: false }),
        );
        req.on('close', () => res.destroy());
      });
    });
    await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
    const { port } = server!.address() as AddressInfo;
    const { body, contentType } = multipart([{ name: 'cut.bin', bytes: Buffer.alloc(2_000_000, 'c') }]);
    let release!: () => void;
    const client = postRaw(`http://127.0.0.1:${port}`, '/', undefined, body, contentType, {
      holdUntil: new Promise<void>((resolve) => (release = resolve)),
    }).catch(() => undefined);

    await until(async () => (await readdir(dir)).length === 1, 10_000, 'the temporary file');
    await until(() => uploads.stats().running === 1, 10_000, 'the upload on its thread');
    expect(await descriptorsInto(dir), 'the open temporary file').to.have.length(1);
    await uploads.close();

    expect((await received).ok).to.equal(false);
    expect(await readdir(dir), 'temporary files').to.deep.equal([]);
    expect(await descriptorsInto(dir), 'descriptors still open').to.deep.equal([]);
    release();
    await client;
  });
});
