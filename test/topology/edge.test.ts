// nginx (the shipped nginx/ files, real Debian nginx) in front of two PM2 hosts of two instances each, on a real
// PostgreSQL primary + streaming replica and Redis: what a client sees through the edge.
import { syncAll } from './support/sync.js';
import { expect } from 'chai';
import http from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Socket } from 'socket.io-client';
import { createGroup, register, request, type Account } from '../support/client.js';
import { strictKeepAliveLoad } from '../cluster/support/strict-client.js';
import { drain, undrain } from '../../deploy/lib/drain.js';
import { setReplayPaused, waitForReplay } from '../../deploy/topology/postgres-cluster.js';
import {
  accessLog,
  closeAgents,
  connectFrom,
  hostOf,
  killHost,
  socketUpstreamsOf,
  startTestTopology,
  type Topology,
} from './support/topology.js';
import { chatLoad, type Message } from './support/chat.js';
import { until } from '../support/sockets.js';

const ADDRESSES = Array.from({ length: 12 }, (_, i) => `127.0.0.${i + 2}`);

describe('topology: nginx in front of two PM2 hosts', function () {
  let topology: Topology;
  let url: string;
  /** Which host each client address's socket.io traffic reached (first test). */
  const hostByAddress = new Map<string, string>();
  const sockets: Socket[] = [];

  before(async function () {
    this.timeout(120_000);
    topology = await startTestTopology();
    url = topology.nginx.url;
  });
  afterEach(() => {
    for (const socket of sockets.splice(0)) socket.close();
    closeAgents();
  });
  after(async () => {
    await topology?.stop();
  });

  it('when clients from 12 addresses connect with the default transports, then each stays on one process, they spread over both hosts, and they upgrade', async () => {
    for (const address of ADDRESSES) {
      // One user per client: SOCKET_MAX_PER_USER caps one user's sockets.
      const socket = await connectFrom(url, (await register(url)).accessToken, address);
      sockets.push(socket);
    }
    // Polling first, then the upgrade: wait until every socket runs over WebSocket.
    const deadline = Date.now() + 15_000;
    while (sockets.some((socket) => socket.io.engine.transport.name !== 'websocket') && Date.now() < deadline)
      await sleep(100);
    expect(sockets.map((socket) => socket.io.engine.transport.name)).to.deep.equal(ADDRESSES.map(() => 'websocket'));
    // A round trip on every socket after the upgrade.
    for (const socket of sockets)
      expect((await socket.timeout(5_000).emitWithAck('sync', { cursors: {} })).ok).to.equal(true);

    const log = accessLog(topology);
    const rejected = log.filter((line) => line.uri.startsWith('/socket.io/') && line.status >= 400);
    expect(rejected, 'socket.io requests nginx answered with an error ("Session ID unknown" is a 400)').to.deep.equal(
      [],
    );
    for (const address of ADDRESSES) {
      const upstreams = [...socketUpstreamsOf(topology, address)];
      expect(upstreams, `${address} reached one process`).to.have.length(1);
      hostByAddress.set(address, hostOf(topology, upstreams[0]!)!.name);
    }
    expect(new Set(hostByAddress.values()).size, `hosts reached: ${JSON.stringify([...hostByAddress])}`).to.equal(2);
  });

  it('when the sender is on one host and a member on the other, then the message sent through nginx reaches the member live', async () => {
    const onFirst = ADDRESSES.find((address) => hostByAddress.get(address) === 'host-1')!;
    const onSecond = ADDRESSES.find((address) => hostByAddress.get(address) === 'host-2')!;
    const alice = await register(url);
    const bob = await register(url);
    const conversationId = await createGroup(url, alice, [bob]);
    const aliceSocket = await connectFrom(url, alice.accessToken, onFirst);
    const bobSocket = await connectFrom(url, bob.accessToken, onSecond);
    sockets.push(aliceSocket, bobSocket);
    const delivered = new Promise<Message>((resolve) =>
      bobSocket.once('message:new', ({ message }) => resolve(message)),
    );
    const ack = await aliceSocket
      .timeout(5_000)
      .emitWithAck('message:send', { conversationId, body: 'across hosts', clientMsgId: 'x-1' });
    expect(ack.ok).to.equal(true);
    expect((await delivered).id).to.equal(ack.message.id);
    expect(hostOf(topology, [...socketUpstreamsOf(topology, onFirst)][0]!)!.name).to.equal('host-1');
    expect(hostOf(topology, [...socketUpstreamsOf(topology, onSecond)][0]!)!.name).to.equal('host-2');
  });

  it('when /health detail or metrics are asked for through nginx, then 404; liveness and readiness answer', async () => {
    expect((await request(url, 'GET', '/health')).status).to.equal(404);
    expect((await request(url, 'GET', '/health/metrics')).status).to.equal(404);
    expect((await request(url, 'GET', '/metrics')).status).to.equal(404);
    expect((await request(url, 'GET', '/health/live')).status).to.equal(200);
    expect((await request(url, 'GET', '/health/ready')).status).to.equal(200);
  });

  it('when a body is over client_max_body_size (BODY_LIMIT), then nginx answers 413 and the app never sees it', async () => {
    const account = await register(url);
    const reply = await request(url, 'POST', '/api/conversations', {
      token: account.accessToken,
      rawBody: `{"x":"${'a'.repeat(120 * 1024)}"}`,
    });
    expect(reply.status).to.equal(413);
    // nginx writes the access line when it frees the request, after its lingering close has read the rest of the
    // refused body and the client's end of the connection (tens of ms here), so the client can have the 413 first.
    const refusedLine = () =>
      accessLog(topology)
        .filter((entry) => entry.uri === '/api/conversations' && entry.status === 413)
        .at(-1);
    await until(() => refusedLine() !== undefined, 15_000, 'the 413 access line');
    expect(refusedLine()!.upstream, 'no upstream was contacted').to.equal('');
  });

  it('when a JSON answer is over 1 KB and the client accepts gzip, then nginx compresses it', async () => {
    const alice = await register(url);
    const conversationId = await createGroup(url, alice, []);
    for (let i = 0; i < 20; i += 1)
      await request(url, 'POST', `/api/conversations/${conversationId}/messages`, {
        token: alice.accessToken,
        body: { body: `message ${i} ${'x'.repeat(60)}`, clientMsgId: `gz-${i}` },
      });
    const encoding = await new Promise<string | undefined>((resolve, reject) => {
      http
        .get(
          `${url}/api/conversations/${conversationId}/messages?limit=50`,
          { headers: { authorization: `Bearer ${alice.accessToken}`, 'accept-encoding': 'gzip' } },
          (res) => {
            res.resume();
            resolve(res.headers['content-encoding']);
          },
        )
        .on('error', reject);
    });
    expect(encoding).to.equal('gzip');
  });

  it('when the replica pauses replay, then history through nginx lags behind for another member, the writer reads its own write, and both catch up on resume', async () => {
    const [alice, bob] = await Promise.all([register(url), register(url)]);
    const conversationId = await createGroup(url, alice, [bob]);
    // Oldest-first pages are not the hot-history cache's (it holds the latest page, loaded from the primary).
    const historyOf = async (reader: typeof alice) =>
      (
        await request(url, 'GET', `/api/conversations/${conversationId}/messages?after=0&limit=50`, {
          token: reader.accessToken,
        })
      ).body.messages.length;
    // Bob wrote nothing: his reads tolerate lag and go to the replica (alice's own writes send hers to the primary).
    const history = () => historyOf(bob);
    // The conversation itself must have reached the replica first.
    const replica = topology.pg.replicas[0]!;
    await waitForReplay(replica, topology.pg.primary);
    await setReplayPaused(replica, true);
    try {
      const sent = await request(url, 'POST', `/api/conversations/${conversationId}/messages`, {
        token: alice.accessToken,
        body: { body: 'written while the replica waits', clientMsgId: 'lag-1' },
      });
      expect(sent.status).to.equal(201);
      expect(await history(), 'history is read from the paused replica').to.equal(0);
      expect(await historyOf(alice), 'the writer reads its own write (read-your-writes)').to.equal(1);
    } finally {
      await setReplayPaused(replica, false);
    }
    const deadline = Date.now() + 5_000;
    while ((await history()) === 0 && Date.now() < deadline) await sleep(50);
    expect(await history()).to.equal(1);
  });

  it('when a host is drained (a file; no nginx reload), then new requests go to the other host and a strict keep-alive client sees no error', async () => {
    const alice = await register(url);
    const conversationId = await createGroup(url, alice, []);
    const load = strictKeepAliveLoad(`${url}/api/conversations/${conversationId}/messages?limit=20`, {
      connections: 4,
      headers: { authorization: `Bearer ${alice.accessToken}` },
    });
    const apiHostsSince = (from: number) =>
      new Set(
        accessLog(topology)
          .slice(from)
          .filter((line) => line.uri.startsWith('/api/'))
          .map((line) => hostOf(topology, line.upstream)?.name),
      );
    const host1 = topology.hosts[0]!;
    try {
      await sleep(500);
      await drain(topology.deployment, host1);
      await sleep(300);
      const drainedFrom = accessLog(topology).length;
      await sleep(1_000);
      expect(apiHostsSince(drainedFrom)).to.deep.equal(new Set(['host-2']));
      await undrain(topology.deployment, host1);
      await sleep(300);
      const undrainedFrom = accessLog(topology).length;
      await sleep(1_000);
      expect(apiHostsSince(undrainedFrom)).to.deep.equal(new Set(['host-1', 'host-2']));
    } finally {
      await undrain(topology.deployment, host1);
      const result = await load.stop();
      expect(result.errors, 'strict client errors').to.deep.equal([]);
      expect(result.non2xx).to.equal(0);
      expect(result.ok).to.be.greaterThan(100);
    }
  });

  it('when one host is SIGKILLed under traffic, then idempotent requests through nginx keep succeeding and its sockets move to the other host with every acked message once', async function () {
    this.timeout(120_000);
    const alice = await register(url);
    const members: Account[] = [];
    for (let i = 0; i < 4; i += 1) members.push(await register(url));
    const conversationId = await createGroup(url, alice, members);
    // Sockets from addresses that hash to host-2, the one that dies; they reconnect like real clients.
    const doomed = ADDRESSES.filter((address) => hostByAddress.get(address) === 'host-2').slice(0, 4);
    const memberSockets = await Promise.all(
      doomed.map((address, i) =>
        connectFrom(url, members[i % members.length]!.accessToken, address, { reconnection: true }),
      ),
    );
    sockets.push(...memberSockets);
    const sender = memberSockets[0]!;

    const counts = {
      reads: 0,
      readFailures: [] as string[],
      sends: 0,
      sendFailures: [] as string[],
      registers: 0,
      registerFailures: [] as string[],
    };
    const acked = new Map<string, Message>();
    let running = true;
    const readLoop = async () => {
      while (running) {
        const reply = await request(url, 'GET', `/api/conversations/${conversationId}/messages?limit=20`, {
          token: alice.accessToken,
        }).catch((e: Error) => ({ status: 0, body: e.message }));
        counts.reads += 1;
        if (reply.status !== 200) counts.readFailures.push(`${reply.status} ${JSON.stringify(reply.body)}`);
      }
    };
    const restSendLoop = async () => {
      for (let i = 0; running; i += 1) {
        const clientMsgId = `rest-${i}`;
        const reply = await request(url, 'POST', `/api/conversations/${conversationId}/messages`, {
          token: alice.accessToken,
          body: { body: clientMsgId, clientMsgId },
        }).catch((e: Error) => ({ status: 0, body: e.message }));
        counts.sends += 1;
        if (reply.status === 201 || reply.status === 200) acked.set(clientMsgId, reply.body.message);
        else counts.sendFailures.push(`${reply.status} ${JSON.stringify(reply.body)}`);
      }
    };
    // Registration is not idempotent: nginx never replays it, so one in flight on the dying host may fail.
    const registerLoop = async () => {
      while (running) {
        counts.registers += 1;
        await register(url).catch((e: Error) => counts.registerFailures.push(e.message));
        await sleep(100);
      }
    };
    const socketSends = chatLoad([sender], conversationId);
    const loops = [readLoop(), readLoop(), restSendLoop(), registerLoop()];
    await sleep(1_500);
    const killedAt = accessLog(topology).length;
    await killHost(topology, topology.hosts[1]!);
    await sleep(4_000);
    running = false;
    await Promise.all(loops);
    await socketSends.stop();
    for (const [clientMsgId, message] of socketSends.acked) acked.set(clientMsgId, message);

    console.log(
      `      kill under traffic: ${JSON.stringify({ ...counts, readFailures: counts.readFailures.length, sendFailures: counts.sendFailures.length, registerFailures: counts.registerFailures.length, acked: acked.size })}`,
    );
    expect(counts.readFailures, 'GETs (nginx replays them on the other host)').to.deep.equal([]);
    expect(counts.sendFailures, 'REST sends (idempotent on clientMsgId, replayed)').to.deep.equal([]);
    expect(counts.reads).to.be.greaterThan(20);

    // Every doomed socket came back, through the surviving host.
    for (const socket of memberSockets) {
      const deadline = Date.now() + 20_000;
      while (!socket.connected && Date.now() < deadline) await sleep(100);
      expect(socket.connected).to.equal(true);
    }
    for (const address of doomed) {
      const after = [...socketUpstreamsOf(topology, address, killedAt)].map(
        (upstream) => hostOf(topology, upstream)!.name,
      );
      expect(after, `${address} after the kill`).to.include('host-1');
    }
    // Catch-up through the survivor: every acked message, none twice.
    // Every page: on a quiet machine the senders ack more than one sync page (1,000 messages) before the kill ends.
    const synced = await syncAll(sender, conversationId);
    const ids = synced.map((message) => message.clientMsgId);
    expect(new Set(ids).size, 'no message twice').to.equal(ids.length);
    const missing = [...acked.keys()].filter((clientMsgId) => !ids.includes(clientMsgId));
    expect(missing, 'acked messages missing from sync').to.deep.equal([]);
  });
});
