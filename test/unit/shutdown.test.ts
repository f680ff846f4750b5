import { setTimeout as sleep } from 'node:timers/promises';
import { expect } from 'chai';
import http from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { pino } from 'pino';
import { InFlight } from '../../src/ops/in-flight.js';
import { createShutdown } from '../../src/ops/shutdown.js';

const silent = pino({ level: 'silent' });

describe('shutdown sequence', () => {
  it('when a request is in flight, a keep-alive client idles and a WebSocket-style upgrade is open, then all end in order before the deadline', async () => {
    let draining = false;
    const events: string[] = [];
    const server = http.createServer((req, res) => {
      const delay = req.url === '/slow' ? 300 : 0;
      setTimeout(() => {
        if (draining) res.setHeader('Connection', 'close');
        res.end('ok');
      }, delay);
    });
    const upgraded: net.Socket[] = [];
    server.on('upgrade', (_req, socket: net.Socket) => {
      socket.write('HTTP/1.1 101 Switching Protocols\r\nUpgrade: test\r\nConnection: Upgrade\r\n\r\n');
      upgraded.push(socket);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;

    let exitCode: number | undefined;
    let onExit: () => void = () => undefined;
    const exited = new Promise<void>((resolve) => (onExit = resolve));
    const shutdown = createShutdown({
      server,
      log: silent,
      deadlineMs: 2000,
      startDraining: () => {
        draining = true;
        events.push('drain');
      },
      closeResources: async () => {
        events.push('resources');
        // What socket.io's closer does: end the upgraded connections.
        upgraded.forEach((socket) => socket.destroy());
      },
      exit: (code) => {
        exitCode = code;
        events.push('exit');
        onExit();
      },
    });

    const agent = new http.Agent({ keepAlive: true });
    await get(port, '/', agent); // leaves an idle keep-alive socket
    const upgradedClient = net.connect(port, '127.0.0.1');
    upgradedClient.write('GET /ws HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: test\r\n\r\n');
    await new Promise((resolve) => upgradedClient.once('data', resolve));
    const slow = get(port, '/slow', agent);
    await sleep(20);

    const started = Date.now();
    void shutdown('test');
    const reply = await slow;
    await exited;

    expect(reply).to.deep.equal({ status: 200, connection: 'close' });
    expect(events).to.deep.equal(['drain', 'resources', 'exit']);
    expect(exitCode).to.equal(0);
    expect(Date.now() - started).to.be.below(2000);
    expect(server.listening).to.equal(false);
    agent.destroy();
    upgradedClient.destroy();
  });

  it('when a handler is still working after its connection was cut, then resources close only once it is done', async () => {
    const events: string[] = [];
    const handlers = new InFlight();
    // A handler that never answers and finishes its work 700 ms into the shutdown: after the connections deadline
    // (600 ms of 1000) cuts its connection, before the handlers deadline (750 ms).
    const server = http.createServer(() => {
      handlers.enter();
      setTimeout(() => {
        events.push('handler done');
        handlers.leave();
      }, 700);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    let onExit: () => void = () => undefined;
    const exited = new Promise<void>((resolve) => (onExit = resolve));
    const shutdown = createShutdown({
      server,
      log: silent,
      deadlineMs: 1000,
      startDraining: () => events.push('drain'),
      closeResources: async () => {
        events.push('resources');
      },
      handlersIdle: () => handlers.idle(),
      exit: () => {
        events.push('exit');
        onExit();
      },
    });
    const cut = get(port, '/stuck', new http.Agent()).catch(() => 'connection cut');
    await sleep(20);
    void shutdown('test');
    expect(await cut).to.equal('connection cut');
    await exited;
    expect(events).to.deep.equal(['drain', 'handler done', 'resources', 'exit']);
  });
});

function get(
  port: number,
  path: string,
  agent: http.Agent,
): Promise<{ status: number; connection: string | undefined }> {
  return new Promise((resolve, reject) => {
    http
      .get({ port, host: '127.0.0.1', path, agent }, (res) => {
        res.resume();
        res.on('end', () => resolve({ status: res.statusCode ?? 0, connection: res.headers.connection }));
      })
      .on('error', reject);
  });
}
