// Object-store servers a test owns, on spare ports, with their data in a temporary directory: s3rver (an
// S3-protocol server on the file system) and Azurite (Microsoft's Azure Storage emulator), both from npm, run as
// child processes so a test can kill one (a store outage) and start it again on the same port and data.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from './processes.js';
import { sleep } from './sockets.js';

const MODULES = fileURLToPath(new URL('../../node_modules/', import.meta.url));

export interface ObjectServer {
  port: number;
  /** The settings Parley needs to use this server as its store. */
  env: Record<string, string>;
  /** Gone at once (SIGKILL; Azurite gets SIGTERM, since it keeps its index in memory and would lose it). */
  kill(): Promise<void>;
  /** Starts it again on the same port and data. */
  start(): Promise<void>;
  stop(): Promise<void>;
}

async function waitForPort(port: number, child: ChildProcess, output: () => string): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    if (child.exitCode !== null) throw new Error(`server on ${port} exited: ${output()}`);
    const open = await new Promise<boolean>((resolve) => {
      const socket = net.connect(port, '127.0.0.1', () => {
        socket.end();
        resolve(true);
      });
      socket.on('error', () => resolve(false));
    });
    if (open) return;
    if (attempt > 300) throw new Error(`server on ${port} did not start: ${output()}`);
    await sleep(50);
  }
}

async function ownServer(
  script: string,
  args: (port: number, dir: string) => string[],
  env: (port: number) => Record<string, string>,
  killSignal: NodeJS.Signals = 'SIGKILL',
): Promise<ObjectServer> {
  const port = await freePort();
  const dir = await mkdtemp(path.join(os.tmpdir(), 'parley-object-store-'));
  let child: ChildProcess | undefined;
  let output = '';
  const start = async () => {
    child = spawn(process.execPath, [path.join(MODULES, script), ...args(port, dir)], {
      stdio: ['ignore', 'pipe', 'pipe'],
      cwd: dir,
    });
    const keep = (chunk: Buffer) => {
      output = (output + chunk.toString()).slice(-5_000);
    };
    child.stdout!.on('data', keep);
    child.stderr!.on('data', keep);
    await waitForPort(port, child, () => output);
  };
  const kill = async () => {
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = once(child, 'exit');
    child.kill(killSignal);
    await exited;
  };
  await start();
  return {
    port,
    env: env(port),
    kill,
    start,
    async stop() {
      await kill();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

export const S3_TEST_BUCKET = 'parley-test';

export function startS3rver(): Promise<ObjectServer> {
  return ownServer(
    's3rver/bin/s3rver.js',
    (port, dir) => [
      '--directory',
      dir,
      '--address',
      '127.0.0.1',
      '--port',
      String(port),
      '--silent',
      '--no-vhost-buckets',
      '--configure-bucket',
      S3_TEST_BUCKET,
    ],
    (port) => ({
      S3_BUCKET: S3_TEST_BUCKET,
      S3_ENDPOINT: `http://127.0.0.1:${port}`,
      S3_REGION: 'us-east-1',
      // s3rver's fixed development credentials.
      S3_ACCESS_KEY: 'S3RVER',
      S3_SECRET_KEY: 'S3RVER',
    }),
  );
}

/** Azurite's well-known development account (public, in Microsoft's documentation). */
const AZURITE_ACCOUNT = 'devstoreaccount1';
const AZURITE_KEY = 'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==';
export const AZURE_TEST_CONTAINER = 'parley-test';

export function startAzurite(): Promise<ObjectServer> {
  return ownServer(
    'azurite/dist/src/blob/main.js',
    (port, dir) => [
      '--blobHost',
      '127.0.0.1',
      '--blobPort',
      String(port),
      '--location',
      dir,
      '--silent',
      '--disableTelemetry',
      '--skipApiVersionCheck',
      '--loose',
    ],
    (port) => ({
      AZURE_STORAGE_CONNECTION_STRING: `DefaultEndpointsProtocol=http;AccountName=${AZURITE_ACCOUNT};AccountKey=${AZURITE_KEY};BlobEndpoint=http://127.0.0.1:${port}/${AZURITE_ACCOUNT};`,
      AZURE_STORAGE_CONTAINER: AZURE_TEST_CONTAINER,
    }),
    'SIGTERM',
  );
}
