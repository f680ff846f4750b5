// Presence across processes: first socket anywhere -> online, last socket anywhere -> offline, REST agrees, and
// a process killed with SIGKILL does not leave its users online for more than 30 s.
import { expect } from 'chai';
import { createGroup, register, request, type Account } from '../../support/client.js';
import { startServer } from '../../support/processes.js';
import { serverSuite } from '../../support/server-suite.js';
import { collect, connect, nextEvent, sleep, until } from '../../support/sockets.js';

async function restPresence(url: string, viewer: Account, userId: string) {
  const reply = await request(url, 'GET', `/api/presence?userIds=${userId}`, { token: viewer.accessToken });
  expect(reply.status).to.equal(200);
  return reply.body.presence[userId] as { status: string; lastSeenAt: string | null };
}

describe('realtime: presence', function () {
  this.timeout(90_000);
  const servers = serverSuite();

  it('when a user connects on one process and leaves from another, then online/offline are announced once each and REST agrees', async () => {
    const [alice, bob] = await Promise.all([register(servers.a.url), register(servers.a.url)]);
    await createGroup(servers.a.url, alice, [bob]);
    const bobB = await connect(servers.b.url, { token: bob.accessToken });
    const events = collect(bobB, 'presence');
    expect((await restPresence(servers.b.url, bob, alice.user.id)).status).to.equal('offline');

    const aliceA = await connect(servers.a.url, { token: alice.accessToken });
    await until(() => events.length === 1, 5000, 'online event');
    expect(events[0]).to.deep.equal({ userId: alice.user.id, status: 'online', lastSeenAt: null });
    expect((await restPresence(servers.b.url, bob, alice.user.id)).status).to.equal('online');

    const aliceB = await connect(servers.b.url, { token: alice.accessToken });
    aliceA.close();
    await sleep(500);
    expect(events).to.have.length(1); // still online on B
    expect((await restPresence(servers.a.url, bob, alice.user.id)).status).to.equal('online');

    aliceB.close();
    await until(() => events.length === 2, 5000, 'offline event');
    expect(events[1]).to.include({ userId: alice.user.id, status: 'offline' });
    const rest = await restPresence(servers.a.url, bob, alice.user.id);
    expect(rest).to.deep.equal({ status: 'offline', lastSeenAt: events[1].lastSeenAt });
  });

  it("when the process holding a user's only socket stalls past its TTL, then the user goes offline, and online again when it resumes", async () => {
    const stalled = await startServer({ PRESENCE_TTL_SEC: '3' });
    const [alice, bob] = await Promise.all([register(servers.a.url), register(servers.a.url)]);
    await createGroup(servers.a.url, alice, [bob]);
    const bobA = await connect(servers.a.url, { token: bob.accessToken });
    // Every presence event about alice, with when it arrived. Under a loaded machine the 3 s TTL can also lapse
    // before the stall (swept, then restored by the process itself), so single "next event" waits could pair an
    // earlier flap's events with this stall; arrival times tell them apart.
    const seen: Array<{ status: string; lastSeenAt: string | null; at: number }> = [];
    bobA.on('presence', (event: { userId: string; status: string; lastSeenAt: string | null }) => {
      if (event.userId === alice.user.id) seen.push({ ...event, at: Date.now() });
    });
    const last = () => seen.at(-1);
    const aliceSocket = await connect(stalled.url, { token: alice.accessToken });
    await until(() => last()?.status === 'online', 10_000, 'alice online');

    const stoppedAt = Date.now();
    stalled.child.kill('SIGSTOP'); // a stall: the heartbeat key expires and the survivors sweep this process
    let resumedAt: number;
    try {
      // The heartbeat was at most ttl/3 old when stopped, so the sweep's offline comes at least ~2 s after the stop;
      // anything earlier was already on its way before it.
      await until(
        () => seen.some((event) => event.status === 'offline' && event.at - stoppedAt > 1500),
        15_000,
        'offline after the stall',
      );
    } finally {
      stalled.child.kill('SIGCONT');
      resumedAt = Date.now();
    }
    // Nothing can bring alice back while her only process is stopped: an online that arrives now came from it.
    await until(() => last()?.status === 'online' && last()!.at >= resumedAt, 10_000, 'online after the resume');
    expect(last()!.lastSeenAt).to.equal(null);
    expect(aliceSocket.connected).to.equal(true);
    expect((await restPresence(servers.b.url, bob, alice.user.id)).status).to.equal('online');
    await stalled.stop('SIGKILL');
  });

  it("when the process holding a user's only socket is killed with SIGKILL, then the user goes offline within 30 s", async () => {
    const victim = await startServer();
    const [alice, bob] = await Promise.all([register(servers.a.url), register(servers.a.url)]);
    await createGroup(servers.a.url, alice, [bob]);
    const bobA = await connect(servers.a.url, { token: bob.accessToken });
    const online = nextEvent(bobA, 'presence', (event) => event.userId === alice.user.id && event.status === 'online');
    await connect(victim.url, { token: alice.accessToken });
    await online;

    const offline = nextEvent(
      bobA,
      'presence',
      (event) => event.userId === alice.user.id && event.status === 'offline',
      30_000,
    );
    const killedAt = Date.now();
    await victim.stop('SIGKILL');
    const event = await offline;
    const took = Date.now() - killedAt;
    expect(took).to.be.below(30_000);
    expect(event.lastSeenAt).to.be.a('string');
    expect((await restPresence(servers.b.url, bob, alice.user.id)).status).to.equal('offline');
  });
});
