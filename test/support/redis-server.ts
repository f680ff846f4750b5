// A redis-server this test owns, on a spare port, keeping nothing on disk: tests that stop, kill or restart
// Redis use one of these, never the machine's own (6379).
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { Redis } from 'ioredis';
import { freePort } from './processes.js';
import { sleep } from './sockets.js';

export interface OwnRedis {
  port: number;
  url: string;
  /** SIGKILL: gone at once, as in a crash or a cut network. */
  kill(): Promise<void>;
  /** A fresh, empty server on the same port. */
  start(): Promise<void>;
  stop(): Promise<void>;
}

/** Resolves once a Redis server answers PING on 127.0.0.1:`port` (about 5 s at most). */
export async function waitForRedis(port: number): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    const probe = new Redis(port, '127.0.0.1', {
      lazyConnect: true,
      maxRetriesPerRequest: 0,
      retryStrategy: () => null,
    });
    probe.on('error', () => undefined);
    try {
      await probe.connect();
      await probe.ping();
      return;
    } catch (error) {
      if (attempt > 100) throw new Error(`redis-server on ${port} did not start: ${(error as Error).message}`);
      await sleep(50);
    } finally {
      probe.disconnect();
    }
  }
}

export async function startOwnRedis(): Promise<OwnRedis> {
  const port = await freePort();
  let child: ChildProcess | undefined;
  const start = async () => {
    child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], {
      stdio: 'ignore',
    });
    await waitForRedis(port);
  };
  const kill = async () => {
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = once(child, 'exit');
    child.kill('SIGKILL');
    await exited;
  };
  await start();
  return { port, url: `redis://127.0.0.1:${port}`, start, kill, stop: kill };
}
