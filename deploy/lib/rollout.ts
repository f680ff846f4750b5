// One host at a time: take it out of nginx, let requests in flight finish, switch its release (when one is
// given), `pm2 reload` it, wait until every port answers ready, put it back. `npm run deploy:rolling` runs this
// for every host; `npm run deploy:canary` for one, then watches it before the rest.
import { setTimeout as sleep } from 'node:timers/promises';
import type { Deployment, Host } from './hosts.js';
import { drain, undrain } from './drain.js';
import { currentRelease, reloadHost, switchRelease, waitHostReady } from './pm2-host.js';

export interface RolloutOptions {
  /** A release directory name under each host's releases directory; absent: reload what APP_DIR points at. */
  release?: string;
  /** After the drain, before the reload: long enough for requests in flight (the reload itself drains too). */
  drainMs: number;
  readyTimeoutMs: number;
  log: (line: string) => void;
}

export interface HostRollout {
  host: string;
  from: string;
  to: string;
}

export async function rollHost(deployment: Deployment, host: Host, options: RolloutOptions): Promise<HostRollout> {
  const from = await currentRelease(host);
  const to = options.release ?? from;
  options.log(`${host.name}: draining (nginx sends new requests and sockets to the other hosts)`);
  await drain(deployment, host);
  try {
    await sleep(options.drainMs);
    if (to !== from) {
      options.log(`${host.name}: release ${from} -> ${to}`);
      await switchRelease(host, to);
    }
    options.log(`${host.name}: pm2 reload`);
    await reloadHost(host);
    await waitHostReady(host, options.readyTimeoutMs);
    options.log(`${host.name}: ready`);
  } catch (error) {
    // Left drained on purpose: the host is not known good. The message says how to continue.
    const message = (error as Error).message;
    throw new Error(
      `${message.includes(host.name) ? '' : `${host.name}: `}${message}\n${host.name} stays drained; fix it, then roll back or rerun the deploy`,
    );
  }
  await undrain(deployment, host);
  options.log(`${host.name}: back in nginx`);
  return { host: host.name, from, to };
}

export async function rollHosts(
  deployment: Deployment,
  hosts: Host[],
  options: RolloutOptions,
): Promise<HostRollout[]> {
  const done: HostRollout[] = [];
  for (const host of hosts) done.push(await rollHost(deployment, host, options));
  return done;
}

/** Puts a host back on the release it ran before (the canary's rollback). */
export async function rollBack(
  deployment: Deployment,
  host: Host,
  release: string,
  options: RolloutOptions,
): Promise<void> {
  options.log(`${host.name}: rolling back to ${release}`);
  await rollHost(deployment, host, { ...options, release });
}
