// A real topology per test file (deploy/topology/topology.ts: PostgreSQL primary + replica, Redis, PM2 hosts,
// nginx) in its own temp directory and ports, plus what the tests read from it: nginx's access log, which host
// an upstream address belongs to, socket.io clients from chosen loopback addresses, and a host's hard kill.
import { mkdtempSync, readFileSync, existsSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { io, type Socket } from 'socket.io-client';
import { pm2Home, startTopology, type Topology } from '../../../deploy/topology/topology.js';
import { socketPorts, type Host } from '../../../deploy/lib/hosts.js';
import { pm2 } from '../../../deploy/lib/pm2-host.js';

export type { Topology };

export async function startTestTopology(env: Record<string, string> = {}): Promise<Topology> {
  return startTopology({
    dir: mkdtempSync(path.join(os.tmpdir(), 'parley-topology-test-')),
    hosts: 2,
    instances: 2,
    port: 0,
    env: {
      // Tests register many users from one address; the hashing algorithm and code path stay the real ones.
      PASSWORD_HASH_COST: '10',
      RATE_LIMIT_AUTH_PER_MIN: '1000000',
      RATE_LIMIT_API_PER_MIN: '1000000',
      LOG_LEVEL: 'warn',
      ...env,
    },
  });
}

export interface AccessLine {
  remote: string;
  method: string;
  uri: string;
  status: number;
  upstream: string;
  upstreamStatus: string;
}

export function accessLog(topology: Topology): AccessLine[] {
  const file = topology.nginx.accessLog;
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as AccessLine);
}

/** The host that owns an upstream address (API port or one of its instance ports). */
export function hostOf(topology: Topology, upstream: string): Host | undefined {
  const port = Number(upstream.split(':').pop());
  return topology.hosts.find((host) => host.port === port || socketPorts(host).includes(port));
}

/**
 * The upstream addresses nginx used for one client address's socket.io requests. A request nginx retried lists
 * several addresses (`a, b`); each counts.
 */
export function socketUpstreamsOf(topology: Topology, remote: string, fromLine = 0): Set<string> {
  const seen = new Set<string>();
  for (const line of accessLog(topology).slice(fromLine)) {
    if (line.remote !== remote || !line.uri.startsWith('/socket.io/')) continue;
    // nginx separates retried upstreams with ", " (and internal redirects with " : ").
    for (const address of line.upstream.split(/, | : /).filter(Boolean)) seen.add(address.trim());
  }
  return seen;
}

const agents: http.Agent[] = [];

/**
 * socket.io's default client (polling, then upgrade to WebSocket) from `localAddress`. The address must be in the
 * agent: polling ignores the client's own localAddress option (PITFALLS, nginx + socket.io).
 */
export function connectFrom(
  url: string,
  token: string,
  localAddress: string,
  options: { reconnection?: boolean } = {},
): Promise<Socket> {
  const agent = new http.Agent({ keepAlive: true, localAddress });
  agents.push(agent);
  const socket = io(url, {
    // socket.io-client types `agent` as string | boolean; engine.io hands it to Node's http and ws as an Agent.
    agent: agent as unknown as string,
    auth: { token },
    forceNew: true,
    reconnection: options.reconnection ?? false,
    reconnectionDelay: 200,
    reconnectionDelayMax: 1_000,
    timeout: 10_000,
  });
  return new Promise((resolve, reject) => {
    socket.once('connect', () => {
      socket.off('connect_error', failed);
      resolve(socket);
    });
    const failed = (error: Error) => {
      socket.close();
      reject(new Error(`connect from ${localAddress}: ${error.message}`));
    };
    socket.once('connect_error', failed);
  });
}

export function closeAgents(): void {
  for (const agent of agents.splice(0)) agent.destroy();
}

/** SIGKILL a host's PM2 daemon and every worker, as a machine dying would. Returns the pids killed. */
export async function killHost(topology: Topology, host: Host): Promise<number[]> {
  const list = JSON.parse((await pm2(host, 'jlist')).replace(/^[^[]*/, '')) as Array<{ pid: number }>;
  const daemon = Number(readFileSync(path.join(pm2Home(topology.dir, host.name), 'pm2.pid'), 'utf8'));
  const pids = [daemon, ...list.map((p) => p.pid).filter((pid) => pid > 0)];
  for (const pid of pids) process.kill(pid, 'SIGKILL');
  return pids;
}
