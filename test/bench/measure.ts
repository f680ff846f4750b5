// What the HTTP benchmarks share: one autocannon run with the server's CPU and memory sampled from /proc, the
// median of interleaved rounds, a child's 'ready' message, and the machine line every report starts with.
import type { ChildProcess } from 'node:child_process';
import os from 'node:os';
import autocannon from 'autocannon';
import { processCpuMs, rssKb } from './proc-cpu.js';

/** The options every autocannon benchmark takes (parseArgs form): --duration s, --connections, --rounds, --json file. */
export const HTTP_BENCH_OPTIONS = {
  duration: { type: 'string', default: '5' },
  connections: { type: 'string', default: '50' },
  rounds: { type: 'string', default: '3' },
  json: { type: 'string' },
} as const;

export interface HttpRow {
  target: string;
  endpoint: string;
  rps: number;
  avg: number;
  /** Latency percentiles in ms, over every response of the measured run. */
  p50: number;
  p95: number;
  p99: number;
  /** Percent of one core, summed over the target's processes. */
  cpu: number;
  /** Server CPU per answered request, in microseconds. */
  cpuUsPerRequest: number;
  rssMb: number;
  errors: number;
  non2xx: number;
}

/** CPU (percent of one core) and peak RSS of the given processes while `work` runs. */
export async function sampled<T>(
  pids: () => number[],
  work: () => Promise<T>,
): Promise<{ result: T; cpu: number; cpuMs: number; seconds: number; rssMb: number }> {
  const cpuMs = () => pids().reduce((sum, pid) => sum + processCpuMs(pid), 0);
  const startMs = cpuMs();
  const started = Date.now();
  let peakRss = 0;
  const timer = setInterval(() => {
    peakRss = Math.max(
      peakRss,
      pids().reduce((sum, pid) => sum + rssKb(pid), 0),
    );
  }, 250);
  const result = await work();
  clearInterval(timer);
  const seconds = (Date.now() - started) / 1000;
  const used = cpuMs() - startMs;
  return {
    result,
    cpu: Math.round((used / 1000 / seconds) * 100),
    cpuMs: used,
    seconds,
    rssMb: Math.round(peakRss / 1024),
  };
}

export interface Load {
  url: string;
  headers?: Record<string, string>;
  connections: number;
  durationSec: number;
  warmupSec?: number;
}

/** The q-quantile (0..1) of sorted values, nearest rank. */
export const quantile = (sorted: readonly number[], q: number): number =>
  sorted.length === 0 ? NaN : sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;

/**
 * One measured autocannon run against `url` after a warm-up (JIT, pools, connections). Percentiles come from
 * every response's latency (autocannon's own summary has no p95).
 */
export async function measure(target: string, endpoint: string, load: Load, pids: () => number[]): Promise<HttpRow> {
  const run = (duration: number, latencies?: number[]) =>
    new Promise<autocannon.Result>((resolve, reject) => {
      const instance = autocannon(
        { url: load.url, connections: load.connections, duration, headers: load.headers ?? {} },
        (error, result) => (error ? reject(error) : resolve(result)),
      );
      if (latencies) instance.on('response', (_client, _status, _bytes, responseTime) => latencies.push(responseTime));
    });
  await run(load.warmupSec ?? 2);
  const latencies: number[] = [];
  const { result, cpu, cpuMs, rssMb } = await sampled(pids, () => run(load.durationSec, latencies));
  latencies.sort((a, b) => a - b);
  const answered = result.requests.total || 1;
  const round2 = (value: number) => Math.round(value * 100) / 100;
  return {
    target,
    endpoint,
    rps: Math.round(result.requests.average),
    avg: round2(result.latency.average),
    p50: round2(quantile(latencies, 0.5)),
    p95: round2(quantile(latencies, 0.95)),
    p99: round2(quantile(latencies, 0.99)),
    cpu,
    cpuUsPerRequest: Math.round((cpuMs * 1000) / answered),
    rssMb,
    errors: result.errors + result.timeouts,
    non2xx: result.non2xx,
  };
}

/** The run of median req/s among one target's rounds. */
export function median(rows: HttpRow[]): HttpRow {
  const sorted = [...rows].sort((a, b) => a.rps - b.rps);
  return sorted[Math.floor(sorted.length / 2)]!;
}

export const ready = (child: ChildProcess) =>
  new Promise<void>((resolve, reject) => {
    child.once('message', (message) => (message === 'ready' ? resolve() : undefined));
    child.once('exit', (code) => reject(new Error(`exited with ${code} before ready`)));
  });

export const machineLine = (): string =>
  `${os.cpus().length} x ${os.cpus()[0]?.model ?? 'cpu'}, ${Math.round(os.totalmem() / 1024 ** 3)} GB, Node ${process.version}, ${os.platform()} ${os.release()}`;
