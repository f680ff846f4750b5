import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import { freePort, freePortRun } from '../../deploy/topology/ports.js';

const ephemeralStart = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);

const listen = (port: number) =>
  new Promise<net.Server>((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject).listen(port, '127.0.0.1', () => resolve(server));
  });

describe('spare ports (deploy/topology/ports.ts)', () => {
  it('when a port or a run of ports is asked for, then it lies below the ephemeral range and can be bound', async () => {
    const port = await freePort();
    expect(port).to.be.below(ephemeralStart);
    const base = await freePortRun(4);
    expect(base + 3).to.be.below(ephemeralStart);
    const servers = await Promise.all([port, base, base + 1, base + 2, base + 3].map(listen));
    await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))));
  });
});
