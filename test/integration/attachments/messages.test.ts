// Messages carrying attachments: attachmentIds on REST and socket sends, the attachments on every read path
// (history, sync, export, search, live events, the conversation list), every kind of bad id, and deletion
// detaching the files, which the sweep removes after the grace period.
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { expect } from 'chai';
import pg from 'pg';
import { createGroup, register, request, type Account } from '../../support/client.js';
import { startTestApp, type TestApp } from '../../support/app.js';
import { startServer, type ServerProcess } from '../../support/processes.js';
import { testDatabaseUrl } from '../../support/services.js';
import { closeAllClients, connect, emitAck, nextEvent, until } from '../../support/sockets.js';
import { streamExport } from '../../support/export-client.js';
import { png, upload } from '../../support/attachments.js';

const send = (url: string, who: Account, conversationId: string, body: Record<string, unknown>) =>
  request(url, 'POST', `/api/conversations/${conversationId}/messages`, {
    token: who.accessToken,
    body: { clientMsgId: `c-${Math.random()}`, ...body },
  });

async function objectCount(dir: string): Promise<number> {
  const entries = await readdir(path.join(dir, 'objects'), { recursive: true, withFileTypes: true }).catch(() => []);
  return entries.filter((entry) => entry.isFile()).length;
}

describe('attachments: in messages', function () {
  this.timeout(60_000);
  // A real process (dist/main.js): sockets included.
  let app: ServerProcess;
  let dir: string;
  let alice: Account;
  let bob: Account;
  let carol: Account;
  let group: string;
  const db = new pg.Pool({ connectionString: testDatabaseUrl(), max: 2 });
  const uploadText = async (who: Account, text = 'some notes', name = 'notes.txt') => {
    const reply = await upload(app.url, who, { name, bytes: Buffer.from(text) });
    expect(reply.status, JSON.stringify(reply.body)).to.equal(201);
    return reply.body.attachment as { id: string; name: string; size: number; contentType: string };
  };

  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'parley-attachments-'));
    // Grace 0 and a fast sweep: a deleted message's files go at the next round.
    app = await startServer({
      ATTACHMENTS_DIR: dir,
      ATTACHMENT_DELETE_GRACE: '0',
      ATTACHMENT_SWEEP_INTERVAL_MS: '100',
    });
  });
  after(async () => {
    await app.stop();
    await db.end();
    await rm(dir, { recursive: true, force: true });
  });
  beforeEach(async () => {
    [alice, bob, carol] = await Promise.all([register(app.url), register(app.url), register(app.url)]);
    group = await createGroup(app.url, alice, [bob]);
  });
  afterEach(closeAllClients);

  it('when a message is sent over REST with attachmentIds and no body, then it carries them in order, and history, the list, sync, export and search show them', async () => {
    const first = await uploadText(alice, 'first file', 'a.txt');
    const image = await upload(app.url, alice, { name: 'b.png', bytes: await png() });
    const second = image.body.attachment;
    const reply = await send(app.url, alice, group, { attachmentIds: [second.id, first.id] });
    expect(reply.status, JSON.stringify(reply.body)).to.equal(201);
    const { message } = reply.body;
    expect(message.body).to.equal('');
    expect(message.attachments).to.deep.equal([
      {
        id: second.id,
        name: 'b.png',
        size: second.size,
        contentType: 'image/png',
        url: `/api/attachments/${second.id}`,
      },
      { id: first.id, name: 'a.txt', size: first.size, contentType: 'text/plain', url: `/api/attachments/${first.id}` },
    ]);
    const searchable = await send(app.url, alice, group, {
      body: 'quarterly report attached',
      attachmentIds: [(await uploadText(alice, 'q3')).id],
    });

    const history = await request(app.url, 'GET', `/api/conversations/${group}/messages?after=0`, {
      token: bob.accessToken,
    });
    expect(history.body.messages[0]).to.deep.equal(message);
    expect(history.body.messages[1].attachments).to.have.length(1);
    const list = await request(app.url, 'GET', '/api/conversations', { token: bob.accessToken });
    expect(list.body.conversations[0].lastMessage.attachments).to.deep.equal(searchable.body.message.attachments);

    const socket = await connect(app.url, { token: bob.accessToken });
    const synced = await emitAck(socket, 'sync', { cursors: { [group]: 0 } });
    expect(synced.ok).to.equal(true);
    expect(synced.messages[0]).to.deep.equal(message);

    const exported: any[] = [];
    const read = await streamExport(app.url, group, bob.accessToken, (line) => exported.push(JSON.parse(line)));
    expect(read.status).to.equal(200);
    expect(exported[0].attachments).to.deep.equal(message.attachments);

    const found = await request(app.url, 'GET', '/api/search/messages?q=quarterly', { token: bob.accessToken });
    expect(found.body.messages[0].attachments).to.deep.equal(searchable.body.message.attachments);

    // A member of the conversation may now download what Alice uploaded.
    const download = await fetch(`${app.url}${message.attachments[1].url}`, {
      headers: { authorization: `Bearer ${bob.accessToken}` },
    });
    expect(download.status).to.equal(200);
    expect(await download.text()).to.equal('first file');
  });

  it('when a socket sends with attachmentIds, then the ack and every member socket get the attachments; a retry returns the same message', async () => {
    const file = await uploadText(alice);
    const [aliceSocket, bobSocket] = await Promise.all([
      connect(app.url, { token: alice.accessToken }),
      connect(app.url, { token: bob.accessToken }),
    ]);
    const event = nextEvent(bobSocket, 'message:new');
    const payload = { conversationId: group, body: 'see file', clientMsgId: 'socket-att-1', attachmentIds: [file.id] };
    const ack = await emitAck(aliceSocket, 'message:send', payload);
    expect(ack.ok, JSON.stringify(ack)).to.equal(true);
    expect(ack.message.attachments.map((a: { id: string }) => a.id)).to.deep.equal([file.id]);
    expect((await event).message).to.deep.equal(ack.message);
    const retry = await emitAck(aliceSocket, 'message:send', payload);
    expect(retry).to.deep.equal(ack);
    const rest = await send(app.url, alice, group, {
      body: 'x',
      clientMsgId: 'socket-att-1',
      attachmentIds: [file.id],
    });
    expect(rest.status).to.equal(200);
    expect(rest.body.message.id).to.equal(ack.message.id);
  });

  it("when attachmentIds name another user's upload, an attached one, one of another conversation or a missing one, then 400 validation_failed naming them, and nothing is sent", async () => {
    const bobs = await uploadText(bob);
    const attached = await uploadText(alice);
    expect((await send(app.url, alice, group, { attachmentIds: [attached.id] })).status).to.equal(201);
    const other = await createGroup(app.url, alice, [carol]);
    const elsewhere = await uploadText(alice);
    expect((await send(app.url, alice, other, { attachmentIds: [elsewhere.id] })).status).to.equal(201);
    const mine = await uploadText(alice);
    const before = (await request(app.url, 'GET', `/api/conversations/${group}`, { token: alice.accessToken })).body
      .conversation.lastSeq;
    for (const bad of [bobs.id, attached.id, elsewhere.id, '999999999']) {
      const reply = await send(app.url, alice, group, { body: 'hi', attachmentIds: [mine.id, bad] });
      expect(reply.status, bad).to.equal(400);
      expect(reply.body.error.code).to.equal('validation_failed');
      expect(reply.body.error.details.attachmentIds).to.deep.equal([bad]);
    }
    // Same over a socket.
    const socket = await connect(app.url, { token: alice.accessToken });
    const ack = await emitAck(socket, 'message:send', {
      conversationId: group,
      body: 'hi',
      clientMsgId: 'bad-socket',
      attachmentIds: [bobs.id],
    });
    expect(ack).to.deep.include({ ok: false });
    expect(ack.error.code).to.equal('validation_failed');
    const after = (await request(app.url, 'GET', `/api/conversations/${group}`, { token: alice.accessToken })).body
      .conversation.lastSeq;
    expect(after).to.equal(before);
    // The good one was not claimed by the refused sends.
    expect((await send(app.url, alice, group, { attachmentIds: [mine.id] })).status).to.equal(201);
  });

  it('when attachmentIds are malformed (too many, repeated, not ids) or the send is empty, then 400 validation_failed', async () => {
    const file = await uploadText(alice);
    const eleven = Array.from({ length: 11 }, (_, i) => String(1000 + i));
    for (const body of [
      { attachmentIds: eleven },
      { attachmentIds: [file.id, file.id] },
      { attachmentIds: ['../1'] },
      { body: '' },
      { body: '', attachmentIds: [] },
      {},
    ]) {
      const reply = await send(app.url, alice, group, body);
      expect(reply.status, JSON.stringify(body)).to.equal(400);
      expect(reply.body.error.code).to.equal('validation_failed');
    }
  });

  it('when two sends race to attach the same upload into two conversations, then exactly one gets it', async () => {
    const other = await createGroup(app.url, alice, [carol]);
    for (let round = 0; round < 5; round++) {
      const file = await uploadText(alice);
      const replies = await Promise.all([
        send(app.url, alice, group, { attachmentIds: [file.id] }),
        send(app.url, alice, other, { attachmentIds: [file.id] }),
      ]);
      expect(replies.map((reply) => reply.status).sort()).to.deep.equal([201, 400]);
      const { rows } = await db.query('SELECT message_id FROM attachments WHERE id = $1', [file.id]);
      expect(rows[0].message_id).to.equal(replies.find((reply) => reply.status === 201)!.body.message.id);
    }
  });

  it('when a message is deleted, then its attachments are gone from it and from downloads at once, and the sweep removes the files; deleting again is harmless', async () => {
    const file = await uploadText(alice, 'to be deleted');
    const objectsBefore = await objectCount(dir);
    const { message } = (await send(app.url, alice, group, { body: 'with file', attachmentIds: [file.id] })).body;
    const removed = await request(app.url, 'DELETE', `/api/conversations/${group}/messages/${message.seq}`, {
      token: alice.accessToken,
    });
    expect(removed.status).to.equal(204);
    const history = await request(app.url, 'GET', `/api/conversations/${group}/messages?after=${message.seq - 1}`, {
      token: bob.accessToken,
    });
    expect(history.body.messages[0]).to.include({ body: '' });
    expect(history.body.messages[0].attachments).to.deep.equal([]);
    for (const who of [alice, bob]) {
      const download = await request(app.url, 'GET', `/api/attachments/${file.id}`, { token: who.accessToken });
      expect(download.status).to.equal(404);
      expect(download.body.error.code).to.equal('not_found');
    }
    await until(
      async () => (await db.query('SELECT 1 FROM attachments WHERE id = $1', [file.id])).rowCount === 0,
      10_000,
      'the sweep removed the row',
    );
    expect(await objectCount(dir)).to.equal(objectsBefore - 1);
    const again = await request(app.url, 'DELETE', `/api/conversations/${group}/messages/${message.seq}`, {
      token: alice.accessToken,
    });
    expect(again.status).to.equal(204);
  });
});

describe('attachments: the orphan sweep', function () {
  this.timeout(60_000);
  let app: TestApp;
  let dir: string;

  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'parley-attachments-'));
    app = await startTestApp({
      ATTACHMENTS_DIR: dir,
      ATTACHMENT_ORPHAN_TTL: '1',
      ATTACHMENT_DELETE_GRACE: '0',
      ATTACHMENT_SWEEP_INTERVAL_MS: '100',
    });
  });
  after(async () => {
    await app.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('when an upload is not attached within ATTACHMENT_ORPHAN_TTL, then it is deleted: no download, no send, no file; an attached one stays', async () => {
    const [alice, bob] = await Promise.all([register(app.url), register(app.url)]);
    const group = await createGroup(app.url, alice, [bob]);
    const orphan = (await upload(app.url, alice, { name: 'o.txt', bytes: Buffer.from('orphan') })).body.attachment;
    const kept = (await upload(app.url, alice, { name: 'k.txt', bytes: Buffer.from('kept') })).body.attachment;
    expect((await send(app.url, alice, group, { attachmentIds: [kept.id] })).status).to.equal(201);
    expect(await objectCount(dir)).to.equal(2);
    await until(async () => (await objectCount(dir)) === 1, 10_000, 'the orphan swept');
    expect(
      (await request(app.url, 'GET', `/api/attachments/${orphan.id}`, { token: alice.accessToken })).status,
    ).to.equal(404);
    const late = await send(app.url, alice, group, { attachmentIds: [orphan.id] });
    expect(late.status).to.equal(400);
    expect((await request(app.url, 'GET', `/api/attachments/${kept.id}`, { token: bob.accessToken })).status).to.equal(
      200,
    );
  });
});
