// What a deploy does to one host: read and switch its release (the APP_DIR symlink), run PM2 there, and wait until
// every port it serves answers ready. Commands run through runScript, locally or over ssh.
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { releasesDir, socketPorts, type Host } from './hosts.js';
import { quote, runScript } from './shell.js';

/** `cd APP_DIR`, the production environment from the env file, then PM2 (with its own PM2_HOME from that file). */
export function pm2(host: Host, args: string): Promise<string> {
  const { appDir, envFile, bin, ssh } = host.pm2;
  return runScript(ssh, `cd ${quote(appDir)} && set -a && . ${quote(envFile)} && set +a && ${bin} ${args}`);
}

export const startHost = (host: Host) => pm2(host, 'start ecosystem.config.js --env production');
/** Zero-downtime within the host: PM2 starts each new worker, waits for its 'ready', then stops the old one. */
export const reloadHost = (host: Host) => pm2(host, 'reload ecosystem.config.js --env production --update-env');
export const killHostPm2 = (host: Host) => pm2(host, 'kill');

/** The release APP_DIR points at (its directory name under the releases directory). */
export async function currentRelease(host: Host): Promise<string> {
  const target = (await runScript(host.pm2.ssh, `readlink ${quote(host.pm2.appDir)}`)).trim();
  return path.basename(target);
}

/** Points APP_DIR at another release, atomically (a new link renamed over the old one). */
export async function switchRelease(host: Host, release: string): Promise<void> {
  const target = path.join(releasesDir(host), release);
  const next = `${host.pm2.appDir}.next`;
  await runScript(
    host.pm2.ssh,
    `test -f ${quote(path.join(target, 'ecosystem.config.js'))} && ln -sfn ${quote(target)} ${quote(next)} && mv -T ${quote(next)} ${quote(host.pm2.appDir)}`,
  );
}

/** Every URL that must answer ready: the shared API port and each instance's own port. */
export const readyUrls = (host: Host): string[] =>
  [...new Set([host.port, ...socketPorts(host)])].map((port) => `http://${host.address}:${port}/health/ready`);

/** Resolves once every port of the host answers 200 on /health/ready twice in a row; throws after timeoutMs. */
export async function waitHostReady(host: Host, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let streak = 0;
  let last = '';
  while (Date.now() < deadline) {
    const answers = await Promise.all(readyUrls(host).map(statusOf));
    last = answers.join(', ');
    streak = answers.every((status) => status === '200') ? streak + 1 : 0;
    if (streak >= 2) return;
    await sleep(250);
  }
  throw new Error(`host ${host.name} not ready within ${timeoutMs} ms (/health/ready answered: ${last})`);
}

async function statusOf(url: string): Promise<string> {
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(2_000) });
    await response.arrayBuffer();
    return String(response.status);
  } catch (error) {
    return (error as Error).name === 'TimeoutError' ? 'timeout' : 'refused';
  }
}
