// Attachments benchmark: 20 clients at once upload 10 MB files (multipart, as the web client would), to Parley
// (a real dist/main.js process on the local store) and, in the same run, to a bare node:http server that writes
// the same request bodies to disk (test/bench/peers/upload-sink.mjs); then they download them back. Reported:
// MB/s of each and Parley's ratio to the baseline, and the p99 of GET /health/live polled every 10 ms during the
// uploads (the main thread's event-loop lag as a client sees it). Rounds alternate baseline and Parley; the
// median round is reported.
//
//   npm run build && npx tsx test/bench/attachments.ts        (needs PostgreSQL and Redis as the tests do)
//
// Environment: BENCH_CLIENTS (default 20), BENCH_FILE_MB (default 10), BENCH_FILES_PER_CLIENT (default 3),
// BENCH_ROUNDS (default 3), BENCH_DOWNLOADS (default true; false measures uploads only, e.g. to profile them with
// PARLEY_NODE_ARGS='--cpu-prof --cpu-prof-dir=/tmp/prof').
import { fork } from 'node:child_process';
import http from 'node:http';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { randomBytes } from 'node:crypto';
import { register, type Account } from '../support/client.js';
import { freePort, startServer, stopAll } from '../support/processes.js';
import { createTestServices, dropTestServices } from '../support/services.js';
import { multipart } from '../support/attachments.js';
import { startLiveProbe } from './live-probe.js';
import { machineLine, quantile } from './measure.js';
import { machineBusyMs, processCpuMs } from './proc-cpu.js';

const CLIENTS = Number(process.env.BENCH_CLIENTS ?? 20);
const FILE_BYTES = Number(process.env.BENCH_FILE_MB ?? 10) * 1_000_000;
const FILES_PER_CLIENT = Number(process.env.BENCH_FILES_PER_CLIENT ?? 3);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const DOWNLOADS = process.env.BENCH_DOWNLOADS !== 'false';
const SINK = fileURLToPath(new URL('./peers/upload-sink.mjs', import.meta.url));

interface Target {
  name: string;
  /** The server's process, whose CPU time per uploaded MB is reported. */
  pid: number;
  url: string;
  tokens: string[];
  uploadPath: string;
  downloadPath(id: string): string;
  clear(): Promise<void>;
}

interface Round {
  uploadMBps: number;
  downloadMBps: number;
  liveP99Ms: number;
  liveMaxMs: number;
  liveSamples: number;
  /** CPU ms per uploaded MB: the server process (all its threads), this load generator, the whole machine. */
  serverCpuMsPerMB: number;
  loadCpuMsPerMB: number;
  machineCpuMsPerMB: number;
}

const agent = new http.Agent({ keepAlive: true, maxSockets: CLIENTS + 2 });

function post(url: string, token: string, body: Buffer, contentType: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const request = http.request(
      url,
      {
        method: 'POST',
        agent,
        headers: {
          'content-type': contentType,
          'content-length': String(body.length),
          authorization: `Bearer ${token}`,
        },
      },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () => {
          const text = Buffer.concat(chunks).toString();
          if (response.statusCode !== 201)
            return reject(new Error(`upload answered ${response.statusCode}: ${text.slice(0, 200)}`));
          resolve((JSON.parse(text) as { attachment: { id: string } }).attachment.id);
        });
      },
    );
    request.on('error', reject);
    request.end(body);
  });
}

function download(url: string, token: string): Promise<number> {
  return new Promise((resolve, reject) => {
    http
      .get(url, { agent, headers: { authorization: `Bearer ${token}` } }, (response) => {
        let bytes = 0;
        response.on('data', (chunk: Buffer) => (bytes += chunk.length));
        response.on('end', () =>
          response.statusCode === 200 ? resolve(bytes) : reject(new Error(`download answered ${response.statusCode}`)),
        );
      })
      .on('error', reject);
  });
}

async function runRound(target: Target, body: Buffer, contentType: string): Promise<Round> {
  const live = await startLiveProbe(target.url, 10);
  const ids: Array<{ client: number; id: string }> = [];
  const cpuBefore = { server: processCpuMs(target.pid), load: processCpuMs(process.pid), machine: machineBusyMs() };
  let started = performance.now();
  await Promise.all(
    Array.from({ length: CLIENTS }, async (_, client) => {
      for (let n = 0; n < FILES_PER_CLIENT; n++)
        ids.push({ client, id: await post(target.url + target.uploadPath, target.tokens[client]!, body, contentType) });
    }),
  );
  const uploadSeconds = (performance.now() - started) / 1000;
  const cpuAfter = { server: processCpuMs(target.pid), load: processCpuMs(process.pid), machine: machineBusyMs() };
  const latencies = (await live.stop()).sort((a, b) => a - b);
  const total = CLIENTS * FILES_PER_CLIENT * FILE_BYTES;
  started = performance.now();
  let downloaded = 0;
  await Promise.all(
    Array.from({ length: DOWNLOADS ? CLIENTS : 0 }, async (_, client) => {
      for (const { id } of ids.filter((entry) => entry.client === client)) {
        // Not `downloaded += await ...`: that reads the sum before the wait, and 20 clients would overwrite each
        // other's counts (it made every download figure before 2026-12-01 20:45 about 20x too low).
        const bytes = await download(target.url + target.downloadPath(id), target.tokens[client]!);
        downloaded += bytes;
      }
    }),
  );
  const downloadSeconds = (performance.now() - started) / 1000;
  await target.clear();
  return {
    uploadMBps: total / 1e6 / uploadSeconds,
    downloadMBps: downloaded / 1e6 / downloadSeconds,
    liveP99Ms: quantile(latencies, 0.99),
    liveMaxMs: latencies[latencies.length - 1] ?? 0,
    liveSamples: latencies.length,
    serverCpuMsPerMB: (cpuAfter.server - cpuBefore.server) / (total / 1e6),
    loadCpuMsPerMB: (cpuAfter.load - cpuBefore.load) / (total / 1e6),
    machineCpuMsPerMB: (cpuAfter.machine - cpuBefore.machine) / (total / 1e6),
  };
}

async function filesIn(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries.filter((entry) => entry.isFile()).map((entry) => path.join(entry.parentPath, entry.name));
}

async function main(): Promise<void> {
  await createTestServices();
  const sinkDir = await mkdtemp(path.join(os.tmpdir(), 'parley-bench-sink-'));
  const parleyDir = await mkdtemp(path.join(os.tmpdir(), 'parley-bench-attachments-'));
  const sinkPort = await freePort();
  const sink = fork(SINK, [String(sinkPort), sinkDir], { stdio: 'ignore' });
  try {
    await new Promise<void>((resolve) => sink.once('message', () => resolve()));
    const parley = await startServer({
      ATTACHMENTS_DIR: parleyDir,
      ATTACHMENT_QUOTA_MB: '100000',
      ACCESS_LOG: 'false',
      LOG_LEVEL: 'warn',
    });
    const accounts: Account[] = [];
    for (let i = 0; i < CLIENTS; i++) accounts.push(await register(parley.url));
    // Text of random letters: accepted (text/plain) and as incompressible as it gets for text.
    const file = Buffer.from(
      randomBytes(Math.ceil((FILE_BYTES * 3) / 4))
        .toString('base64')
        .slice(0, FILE_BYTES),
    );
    const { body, contentType } = multipart([{ name: 'bench.txt', bytes: file }]);
    const targets: Target[] = [
      {
        name: 'bare node:http',
        pid: sink.pid!,
        url: `http://127.0.0.1:${sinkPort}`,
        tokens: accounts.map(() => 'none'),
        uploadPath: '/upload',
        downloadPath: (id) => `/files/${id}`,
        clear: async () => {
          for (const name of await filesIn(sinkDir)) await rm(name, { force: true });
        },
      },
      {
        name: 'Parley',
        pid: parley.child.pid!,
        url: parley.url,
        tokens: accounts.map((account) => account.accessToken),
        uploadPath: '/api/attachments',
        downloadPath: (id) => `/api/attachments/${id}`,
        clear: async () => {
          for (const name of await filesIn(path.join(parleyDir, 'objects'))) await rm(name, { force: true });
        },
      },
    ];
    console.log(machineLine());
    console.log(
      `${CLIENTS} clients x ${FILES_PER_CLIENT} files of ${FILE_BYTES / 1e6} MB per round, ${ROUNDS} rounds, baseline and Parley alternating`,
    );
    // Warm-up, not counted: JIT, connections, the first writes of each server.
    for (const target of targets) {
      const id = await post(target.url + target.uploadPath, target.tokens[0]!, body, contentType);
      await download(target.url + target.downloadPath(id), target.tokens[0]!);
      await target.clear();
    }
    const results = new Map<string, Round[]>(targets.map((target) => [target.name, []]));
    for (let round = 0; round < ROUNDS; round++) {
      for (const target of targets) {
        const result = await runRound(target, body, contentType);
        results.get(target.name)!.push(result);
        console.log(
          `round ${round + 1} ${target.name.padEnd(15)} upload ${result.uploadMBps.toFixed(0).padStart(5)} MB/s  download ${result.downloadMBps.toFixed(0).padStart(5)} MB/s  /health/live p99 ${result.liveP99Ms.toFixed(1)} ms (max ${result.liveMaxMs.toFixed(1)}, ${result.liveSamples} samples)  CPU ms/MB server ${result.serverCpuMsPerMB.toFixed(2)} load ${result.loadCpuMsPerMB.toFixed(2)} machine ${result.machineCpuMsPerMB.toFixed(2)}`,
        );
      }
    }
    const median = (name: string, pick: (round: Round) => number) => {
      const values = results
        .get(name)!
        .map(pick)
        .sort((a, b) => a - b);
      return values[Math.floor(values.length / 2)]!;
    };
    const [bare, ours] = targets.map((target) => target.name) as [string, string];
    const up = median(ours, (r) => r.uploadMBps) / median(bare, (r) => r.uploadMBps);
    const down = median(ours, (r) => r.downloadMBps) / median(bare, (r) => r.downloadMBps);
    console.log(
      `median: upload Parley ${median(ours, (r) => r.uploadMBps).toFixed(0)} MB/s vs bare ${median(bare, (r) => r.uploadMBps).toFixed(0)} MB/s = ${up.toFixed(2)}x (target >= 0.8)`,
    );
    console.log(
      `median: download Parley ${median(ours, (r) => r.downloadMBps).toFixed(0)} MB/s vs bare ${median(bare, (r) => r.downloadMBps).toFixed(0)} MB/s = ${down.toFixed(2)}x`,
    );
    console.log(
      `median: /health/live p99 during uploads: Parley ${median(ours, (r) => r.liveP99Ms).toFixed(1)} ms (target <= 50), bare ${median(bare, (r) => r.liveP99Ms).toFixed(1)} ms`,
    );
  } finally {
    sink.kill('SIGINT');
    agent.destroy();
    await stopAll('SIGINT');
    await dropTestServices();
    await rm(sinkDir, { recursive: true, force: true });
    await rm(parleyDir, { recursive: true, force: true });
  }
}

await main();
