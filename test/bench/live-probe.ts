// GET /health/live polled from a process of its own while a benchmark loads the server. Measured from inside the
// load generator, the probe's latency also counted the generator's own event-loop lag: 100 clients retrying every
// 503 at once, or 20 clients pushing 10 MB uploads, keep that loop busy, and a probe timed there reported the
// client's stalls as the server's. A load balancer's health check runs elsewhere too.
//
//   const probe = await startLiveProbe(url, 20); ...load...; const latencies = await probe.stop();
//
// Run as a script (by startLiveProbe): node --import tsx live-probe.ts <url> <intervalMs>; on 'stop' it sends back
// every latency in ms (Infinity for a failed probe) and exits.
import { fork } from 'node:child_process';
import { once } from 'node:events';
import http from 'node:http';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';

const SELF = fileURLToPath(import.meta.url);

export interface LiveProbe {
  /** Ends the probe; the latency of every probe made, in ms. */
  stop(): Promise<number[]>;
}

export async function startLiveProbe(url: string, intervalMs: number): Promise<LiveProbe> {
  const child = fork(SELF, [url, String(intervalMs)], {
    execArgv: ['--import', 'tsx'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  await once(child, 'message'); // 'ready'
  return {
    async stop() {
      const answer = once(child, 'message');
      child.send('stop');
      const [latencies] = (await answer) as [Array<number | null>];
      await once(child, 'exit');
      // JSON over IPC turns Infinity into null.
      return latencies.map((ms) => ms ?? Infinity);
    },
  };
}

async function probeUntilStopped(url: string, intervalMs: number): Promise<void> {
  const latencies: number[] = [];
  let running = true;
  process.once('message', () => (running = false));
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  process.send!('ready');
  while (running) {
    const started = performance.now();
    const ok = await new Promise<boolean>((resolve) => {
      http
        .get(`${url}/health/live`, { agent }, (response) =>
          response.resume().on('end', () => resolve(response.statusCode === 200)),
        )
        .on('error', () => resolve(false));
    });
    latencies.push(ok ? performance.now() - started : Infinity);
    await sleep(intervalMs);
  }
  agent.destroy();
  process.send!(latencies, () => process.exit(0));
}

if (process.argv[1] === SELF) await probeUntilStopped(process.argv[2]!, Number(process.argv[3]));
