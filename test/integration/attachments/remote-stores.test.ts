// The S3 and Azure Blob stores, each against a real server of its protocol started here on a spare port (s3rver,
// Azurite): uploads land in the store, downloads are 302s to signed URLs that really serve the bytes with the
// right headers, thumbnails are kept there, deletions reach it, and a store that goes away is a 503 with nothing
// half-written, shown on /health, until it returns.
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import pg from 'pg';
import sharp from 'sharp';
import { BlobServiceClient } from '@azure/storage-blob';
import { ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { createGroup, register, request, type Account } from '../../support/client.js';
import { startTestApp, type TestApp } from '../../support/app.js';
import { HEALTH_DETAIL, testDatabaseUrl } from '../../support/services.js';
import { until } from '../../support/sockets.js';
import { png, upload, uploadAndSend } from '../../support/attachments.js';
import {
  AZURE_TEST_CONTAINER,
  S3_TEST_BUCKET,
  startAzurite,
  startS3rver,
  type ObjectServer,
} from '../../support/object-servers.js';

interface RemoteStore {
  kind: 's3' | 'azure';
  start(): Promise<ObjectServer>;
  /** Makes the bucket or container (an operator's job, before Parley starts). */
  prepare(server: ObjectServer): Promise<void>;
  keys(server: ObjectServer): Promise<string[]>;
}

const S3: RemoteStore = {
  kind: 's3',
  start: startS3rver,
  // s3rver makes the bucket at start (--configure-bucket).
  prepare: async () => undefined,
  async keys(server) {
    const client = new S3Client({
      region: 'us-east-1',
      endpoint: server.env.S3_ENDPOINT,
      forcePathStyle: true,
      credentials: { accessKeyId: server.env.S3_ACCESS_KEY!, secretAccessKey: server.env.S3_SECRET_KEY! },
    });
    try {
      const listed = await client.send(new ListObjectsV2Command({ Bucket: S3_TEST_BUCKET }));
      return (listed.Contents ?? []).map((object) => object.Key!);
    } finally {
      client.destroy();
    }
  },
};

const containerOf = (server: ObjectServer) =>
  BlobServiceClient.fromConnectionString(server.env.AZURE_STORAGE_CONNECTION_STRING!).getContainerClient(
    AZURE_TEST_CONTAINER,
  );

const AZURE: RemoteStore = {
  kind: 'azure',
  start: startAzurite,
  async prepare(server) {
    await containerOf(server).createIfNotExists();
  },
  async keys(server) {
    const keys: string[] = [];
    for await (const blob of containerOf(server).listBlobsFlat()) keys.push(blob.name);
    return keys;
  },
};

for (const store of [S3, AZURE]) {
  describe(`attachments: the ${store.kind} store against a real server`, function () {
    this.timeout(90_000);
    let server: ObjectServer;
    let app: TestApp;
    let dir: string;
    let alice: Account;
    let bob: Account;
    let carol: Account;
    let group: string;
    const db = new pg.Pool({ connectionString: testDatabaseUrl(), max: 2 });
    const get = (who: Account, url: string, headers: Record<string, string> = {}) =>
      fetch(app.url + url, { headers: { authorization: `Bearer ${who.accessToken}`, ...headers }, redirect: 'manual' });
    const incoming = async () => readdir(path.join(dir, 'incoming'));

    before(async () => {
      server = await store.start();
      await store.prepare(server);
      dir = await mkdtemp(path.join(os.tmpdir(), 'parley-attachments-'));
      app = await startTestApp({
        ...server.env,
        ATTACHMENTS_DIR: dir,
        ATTACHMENT_DELETE_GRACE: '0',
        ATTACHMENT_SWEEP_INTERVAL_MS: '100',
        ATTACHMENT_STORE_TIMEOUT_MS: '3000',
        ATTACHMENT_THUMBNAIL_PX: '40',
      });
    });
    after(async () => {
      await app?.close();
      await server?.stop();
      await db.end();
      await rm(dir, { recursive: true, force: true });
    });
    beforeEach(async () => {
      [alice, bob, carol] = await Promise.all([register(app.url), register(app.url), register(app.url)]);
      group = await createGroup(app.url, alice, [bob]);
    });

    const attach = (bytes: Buffer, name: string) => uploadAndSend(app.url, alice, group, { name, bytes });

    it('when a file is uploaded, then its object is in the store (nothing stays on this host) and the row names the store', async () => {
      const { attachment } = await attach(Buffer.from('stored remotely'), 'remote.txt');
      const { rows } = await db.query('SELECT store, storage_key FROM attachments WHERE id = $1', [attachment.id]);
      expect(rows[0].store).to.equal(store.kind);
      expect(await store.keys(server)).to.include(rows[0].storage_key);
      expect(await incoming()).to.deep.equal([]);
    });

    it('when a member downloads, then 302 to a signed URL that serves the bytes with the type, disposition and caching; others get 404', async () => {
      const text = Buffer.from('signed and served by the store');
      const { attachment } = await attach(text, 'report.txt');
      const reply = await get(bob, `/api/attachments/${attachment.id}`);
      expect(reply.status).to.equal(302);
      expect(reply.headers.get('cache-control')).to.equal('private, no-store');
      const location = reply.headers.get('location')!;
      expect(location).to.match(new RegExp(`^http://127\\.0\\.0\\.1:${server.port}/`));
      const fetched = await fetch(location);
      expect(fetched.status).to.equal(200);
      expect(Buffer.from(await fetched.arrayBuffer()).equals(text)).to.equal(true);
      expect(fetched.headers.get('content-type')).to.match(/^text\/plain/);
      expect(fetched.headers.get('content-disposition')).to.match(/^attachment; filename="?report\.txt"?$/);
      if (store.kind === 's3') {
        expect(new URL(location).searchParams.get('X-Amz-Expires')).to.equal('300');
      } else {
        // The signature covers the URL: Azurite refuses a tampered one. (s3rver does not check SigV4 signatures
        // at all, so this half is only tested against Azurite.)
        const tampered = await fetch(location.replace(/([?&]sig=)[^&]+/, '$1AAAA'));
        expect(tampered.status).to.equal(403);
        expect(new URL(location).searchParams.get('se')).to.be.a('string');
      }
      expect((await get(carol, `/api/attachments/${attachment.id}`)).status).to.equal(404);
      expect(
        (await get(bob, `/api/attachments/${attachment.id}`, { 'if-none-match': `"${attachment.sha256}"` })).status,
      ).to.equal(304);
    });

    it('when a thumbnail is asked for, then it is made once, kept in the store and redirected to', async () => {
      const { attachment } = await attach(await png(200, 100), 'pic.png');
      const reply = await get(bob, `/api/attachments/${attachment.id}/thumbnail`);
      expect(reply.status).to.equal(302);
      const thumb = await fetch(reply.headers.get('location')!);
      expect(thumb.status).to.equal(200);
      const meta = await sharp(Buffer.from(await thumb.arrayBuffer())).metadata();
      expect([meta.format, meta.width, meta.height]).to.deep.equal(['webp', 40, 20]);
      const { rows } = await db.query('SELECT thumbnail_key FROM attachments WHERE id = $1', [attachment.id]);
      expect(await store.keys(server)).to.include(rows[0].thumbnail_key);
      expect(await incoming()).to.deep.equal([]);
    });

    it('when the message is deleted, then the sweep removes its objects from the store', async () => {
      const { attachment, message } = await attach(await png(), 'gone.png');
      expect((await get(bob, `/api/attachments/${attachment.id}/thumbnail`)).status).to.equal(302);
      const { rows } = await db.query('SELECT storage_key, thumbnail_key FROM attachments WHERE id = $1', [
        attachment.id,
      ]);
      const removed = await request(app.url, 'DELETE', `/api/conversations/${group}/messages/${message.seq}`, {
        token: alice.accessToken,
      });
      expect(removed.status).to.equal(204);
      await until(
        async () => {
          const keys = await store.keys(server);
          return !keys.includes(rows[0].storage_key) && !keys.includes(rows[0].thumbnail_key);
        },
        10_000,
        'objects removed from the store',
      );
      await until(
        async () => (await db.query('SELECT 1 FROM attachments WHERE id = $1', [attachment.id])).rowCount === 0,
        5_000,
        'row removed',
      );
    });

    it('when the store goes away, then uploads are 503 overloaded with Retry-After, nothing is half-written, /health says so; when it returns, uploads work', async () => {
      const keysBefore = await store.keys(server);
      await server.kill();
      try {
        const reply = await upload(app.url, alice, {
          name: 'during-outage.txt',
          bytes: Buffer.from('nobody will store me'),
        });
        expect(reply.status).to.equal(503);
        expect(reply.body.error.code).to.equal('overloaded');
        expect(Number(reply.headers['retry-after'])).to.be.greaterThan(0);
        expect((await db.query('SELECT 1 FROM attachments WHERE uploader_id = $1', [alice.user.id])).rowCount).to.equal(
          0,
        );
        expect(await incoming()).to.deep.equal([]);
        await new Promise((resolve) => setTimeout(resolve, 1100));
        const health = await request(app.url, 'GET', '/health', { headers: HEALTH_DETAIL });
        expect(health.body.status).to.equal('degraded');
        expect(health.body.missing).to.include('attachmentStore');
        expect(health.body.attachments).to.deep.equal({ store: store.kind, answering: false });
        // Readiness follows the database alone: a store outage does not take every instance out of rotation.
        expect((await request(app.url, 'GET', '/health/ready')).status).to.equal(200);
      } finally {
        await server.start();
      }
      expect(await store.keys(server)).to.deep.equal(keysBefore);
      expect((await upload(app.url, alice, { name: 'after.txt', bytes: Buffer.from('back again') })).status).to.equal(
        201,
      );
      await new Promise((resolve) => setTimeout(resolve, 1100));
      const health = await request(app.url, 'GET', '/health', { headers: HEALTH_DETAIL });
      expect(health.body.attachments).to.deep.equal({ store: store.kind, answering: true });
      const metrics = await (await fetch(`${app.url}/metrics`)).text();
      expect(metrics).to.match(
        new RegExp(`parley_attachment_uploads_total\\{[^}]*store="${store.kind}"[^}]*status="503"[^}]*\\} 1`),
      );
      expect(metrics).to.match(
        new RegExp(`parley_attachment_store_seconds_count\\{[^}]*store="${store.kind}",op="put",outcome="error"`),
      );
      expect(metrics).to.match(new RegExp(`parley_attachment_bytes_stored\\{[^}]*store="${store.kind}"[^}]*\\} [1-9]`));
    });
  });
}
