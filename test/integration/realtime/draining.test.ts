// Reconnect stampedes: before a process closes its sockets (reload, shutdown) it tells each one to wait its own
// random delay before reconnecting (server:draining, contract v2).
import { expect } from 'chai';
import { register } from '../../support/client.js';
import { startServer, stopAll } from '../../support/processes.js';
import { closeAllClients, connect, type Client } from '../../support/sockets.js';

const SPREAD_MS = 4000;

describe('realtime: draining', function () {
  this.timeout(60_000);
  afterEach(closeAllClients);
  after(stopAll);

  it('when a process shuts down, then every socket hears server:draining before it closes, with delays spread over the window', async () => {
    const server = await startServer({ SOCKET_RECONNECT_SPREAD_MS: String(SPREAD_MS) });
    const alice = await register(server.url);
    const sockets: Client[] = [];
    // SOCKET_MAX_PER_USER is per user: several users, a few sockets each.
    for (let u = 0; u < 8; u++) {
      const user = u === 0 ? alice : await register(server.url);
      for (let i = 0; i < 5; i++) sockets.push(await connect(server.url, { token: user.accessToken }));
    }
    const heard = sockets.map(
      (socket) =>
        new Promise<{ reconnectInMs: number; beforeDisconnect: boolean }>((resolve) => {
          let disconnected = false;
          socket.once('disconnect', () => (disconnected = true));
          socket.once('server:draining', (payload: { reconnectInMs: number }) =>
            resolve({ ...payload, beforeDisconnect: !disconnected }),
          );
        }),
    );
    expect(await server.stop('SIGINT')).to.equal(0);
    const delays = await Promise.all(heard);
    expect(delays.every((d) => d.beforeDisconnect)).to.equal(true);
    const values = delays.map((d) => d.reconnectInMs);
    expect(Math.min(...values)).to.be.at.least(0);
    expect(Math.max(...values)).to.be.at.most(SPREAD_MS);
    // 40 uniform draws: all of them inside half the window would mean no spreading at all.
    expect(Math.max(...values) - Math.min(...values)).to.be.above(SPREAD_MS / 2);
  });
});

describe('realtime: draining and the per-user socket cap', function () {
  this.timeout(60_000);
  afterEach(closeAllClients);
  after(stopAll);

  it('when a process drains, then its sockets no longer count against SOCKET_MAX_PER_USER, so the same user reconnecting to another process is admitted', async () => {
    const env = { SOCKET_MAX_PER_USER: '2' };
    const [draining, survivor] = await Promise.all([startServer(env), startServer(env)]);
    const alice = await register(survivor.url);
    const old = [
      await connect(draining.url, { token: alice.accessToken }),
      await connect(draining.url, { token: alice.accessToken }),
    ];
    // At the cap: a third socket anywhere is refused.
    const refused = await connect(survivor.url, { token: alice.accessToken }).then(
      () => 'connected',
      (error: Error) => error.message,
    );
    expect(refused).to.equal('too_many_sockets');

    const heard = old.map((socket) => new Promise<void>((resolve) => socket.once('server:draining', () => resolve())));
    const stopped = draining.stop('SIGINT');
    await Promise.all(heard);
    const reconnected = await Promise.all(
      old.map(() =>
        connect(survivor.url, { token: alice.accessToken }).then(
          () => 'connected',
          (error: Error) => error.message,
        ),
      ),
    );
    // The old sockets were still open (and counted as online): only draining let the new ones in.
    expect(
      old.map((socket) => socket.connected),
      'old sockets still open while the new ones connected',
    ).to.deep.equal([true, true]);
    expect(reconnected).to.deep.equal(['connected', 'connected']);
    expect(await stopped).to.equal(0);
  });
});
