// The topology's own Redis on a spare port: nothing persisted, nothing shared with the machine's Redis.
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { freePort } from './ports.js';
import { startOwned, type OwnedProcess } from './processes.js';

export interface TopologyRedis {
  url: string;
  port: number;
  process: OwnedProcess;
}

export async function startRedis(dir: string): Promise<TopologyRedis> {
  const port = await freePort();
  const process = startOwned(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir],
    path.join(dir, 'redis.log'),
  );
  const url = `redis://127.0.0.1:${port}`;
  for (let attempt = 0; attempt < 100; attempt += 1) {
    const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    client.on('error', () => undefined);
    try {
      await client.connect();
      await client.ping();
      return { url, port, process };
    } catch {
      await sleep(100);
    } finally {
      client.disconnect();
    }
  }
  await process.stop('SIGKILL');
  throw new Error(`redis-server did not answer on port ${port} (see ${path.join(dir, 'redis.log')})`);
}
