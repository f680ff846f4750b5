// Real server processes for the tests: `node dist/main.js` children sharing this run's PostgreSQL
// database and Redis key space, each on a free port. Every child started here is killed by stopAll().
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { freePort } from '../../deploy/topology/ports.js';
import { testEnv } from './services.js';

export const MAIN = fileURLToPath(new URL('../../dist/main.js', import.meta.url));

export interface ServerProcess {
  url: string;
  port: number;
  child: ChildProcess;
  /** What the child wrote (stdout and stderr, the last 20 KB), for assertions and failure messages. */
  output(): string;
  /** SIGINT (graceful) or SIGKILL; resolves with the exit code once the process is gone. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

const running = new Set<ServerProcess>();

/** A spare port for a server a test starts (deploy/topology/ports.ts: below the ephemeral range, so it stays free). */
export { freePort };

/**
 * Node flags for the servers tests and benchmarks start, e.g. PARLEY_NODE_ARGS='--cpu-prof --cpu-prof-dir=/tmp/prof'
 * to profile a benchmark (Node refuses --cpu-prof in NODE_OPTIONS).
 */
export const serverNodeArgs = (): string[] => (process.env.PARLEY_NODE_ARGS ?? '').split(' ').filter(Boolean);

/** `nodeArgs`: extra Node flags for this server alone, e.g. a test-only fault preload (`--import <file>`). */
export async function startServer(
  overrides: Record<string, string> = {},
  port?: number,
  nodeArgs: string[] = [],
): Promise<ServerProcess> {
  port ??= await freePort();
  const env = {
    PATH: process.env.PATH ?? '',
    ...testEnv({ PORT: String(port), HOST: '127.0.0.1', LOG_LEVEL: 'warn', ...overrides }),
  };
  const child = spawn(process.execPath, [...serverNodeArgs(), ...nodeArgs, MAIN], {
    env,
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
  });
  let output = '';
  const keep = (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-20_000);
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const proc: ServerProcess = {
    url: `http://127.0.0.1:${port}`,
    port,
    child,
    output: () => output,
    async stop(signal = 'SIGINT') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      const code = await exited;
      clearTimeout(timer);
      running.delete(proc);
      return code;
    },
  };
  running.add(proc);
  await new Promise<void>((resolve, reject) => {
    child.on('message', (message) => message === 'ready' && resolve());
    void exited.then((code) => reject(new Error(`server exited with ${code} before ready:\n${output}`)));
  });
  return proc;
}

export async function stopAll(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
  await Promise.all([...running].map((proc) => proc.stop(signal)));
}
