// A real Prometheus (Debian's prometheus package, as .ci/run installs it) scraping a test cluster with the shipped
// scrape job (deploy/prometheus/prometheus.yml) pointed at the cluster's port and a 1 s interval, in its own
// temp dir and on a free port. stop() kills it by pid.
import { spawn } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePort } from '../../support/processes.js';

const SHIPPED = fileURLToPath(new URL('../../../deploy/prometheus/', import.meta.url));

export interface Prometheus {
  url: string;
  output(): string;
  stop(): Promise<void>;
}

export async function startPrometheus(targetPort: number): Promise<Prometheus> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'parley-prometheus-'));
  const config = readFileSync(path.join(SHIPPED, 'prometheus.yml'), 'utf8')
    .replace(/scrape_interval: \d+s/, 'scrape_interval: 1s')
    .replace(/scrape_timeout: \d+s/, 'scrape_timeout: 1s')
    .replace("'127.0.0.1:3000'", `'127.0.0.1:${targetPort}'`);
  if (!config.includes(`127.0.0.1:${targetPort}`))
    throw new Error('the shipped prometheus.yml no longer has the target this helper rewrites');
  writeFileSync(path.join(dir, 'prometheus.yml'), config);
  copyFileSync(path.join(SHIPPED, 'parley-alerts.yml'), path.join(dir, 'parley-alerts.yml'));
  const port = await freePort();
  const child = spawn(
    'prometheus',
    [
      `--config.file=${path.join(dir, 'prometheus.yml')}`,
      `--storage.tsdb.path=${path.join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let output = '';
  const keep = (chunk: Buffer) => (output = (output + chunk.toString()).slice(-10_000));
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.once('error', (error) => (output += `\n${error.message} (apt-get install prometheus; see .ci/run)`));
  const url = `http://127.0.0.1:${port}`;
  const stop = async () => {
    child.kill('SIGKILL');
    await exited;
    rmSync(dir, { recursive: true, force: true });
  };
  for (const until = Date.now() + 20_000; Date.now() < until; await sleep(200)) {
    if (child.exitCode !== null) break;
    if (
      await fetch(`${url}/-/ready`).then(
        (r) => r.ok,
        () => false,
      )
    )
      return { url, output: () => output, stop };
  }
  await stop();
  throw new Error(`prometheus did not become ready:\n${output}`);
}
