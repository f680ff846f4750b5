// A Redis master, one replica and three sentinels this test owns, each on a spare port, with their files in a
// temporary directory. Killing the master lets the sentinels promote the replica, as in production.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { freePort } from './processes.js';
import { waitForRedis } from './redis-server.js';

export const SENTINEL_MASTER = 'parleymaster';

export interface SentinelGroup {
  /** host:port of each sentinel, as REDIS_SENTINELS takes them. */
  sentinels: string[];
  masterPort: number;
  replicaPort: number;
  /** SIGKILL of the current master. */
  killMaster(): Promise<void>;
  /** The port the sentinels name as master now. */
  currentMasterPort(): Promise<number>;
  stop(): Promise<void>;
}

export async function startSentinelGroup(): Promise<SentinelGroup> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'parley-sentinel-'));
  const children = new Map<number, ChildProcess>();
  const serve = async (port: number, args: string[]) => {
    children.set(port, spawn('redis-server', args, { stdio: 'ignore', cwd: dir }));
    await waitForRedis(port);
  };
  const masterPort = await freePort();
  const replicaPort = await freePort();
  const base = ['--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'];
  await serve(masterPort, ['--port', String(masterPort), ...base]);
  await serve(replicaPort, ['--port', String(replicaPort), ...base, '--replicaof', '127.0.0.1', String(masterPort)]);
  const sentinelPorts = [await freePort(), await freePort(), await freePort()];
  for (const port of sentinelPorts) {
    const file = path.join(dir, `sentinel-${port}.conf`);
    await writeFile(
      file,
      [
        `port ${port}`,
        'bind 127.0.0.1',
        `sentinel monitor ${SENTINEL_MASTER} 127.0.0.1 ${masterPort} 2`,
        `sentinel down-after-milliseconds ${SENTINEL_MASTER} 1000`,
        `sentinel failover-timeout ${SENTINEL_MASTER} 5000`,
        `sentinel parallel-syncs ${SENTINEL_MASTER} 1`,
        '',
      ].join('\n'),
    );
    await serve(port, [file, '--sentinel']);
  }
  const kill = async (port: number) => {
    const child = children.get(port);
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = once(child, 'exit');
    child.kill('SIGKILL');
    await exited;
  };
  const group: SentinelGroup = {
    sentinels: sentinelPorts.map((port) => `127.0.0.1:${port}`),
    masterPort,
    replicaPort,
    async currentMasterPort() {
      const sentinel = new Redis(sentinelPorts[0]!, '127.0.0.1', { maxRetriesPerRequest: 1 });
      try {
        const [, port] = (await sentinel.call('SENTINEL', 'get-master-addr-by-name', SENTINEL_MASTER)) as [
          string,
          string,
        ];
        return Number(port);
      } finally {
        sentinel.disconnect();
      }
    },
    async killMaster() {
      await kill(await group.currentMasterPort());
    },
    async stop() {
      for (const port of children.keys()) await kill(port);
      await rm(dir, { recursive: true, force: true });
    },
  };
  return group;
}
