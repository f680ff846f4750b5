// Taking a host out of nginx and putting it back: a file named after the host in the drain directory, which
// drain.conf checks on every request. New requests and sockets go elsewhere at once; requests in flight finish on
// the host; sockets already there stay until the host's reload closes them (they then reconnect elsewhere).
import path from 'node:path';
import type { Deployment, Host } from './hosts.js';
import { quote, runScript } from './shell.js';

export async function drainedHosts(deployment: Deployment): Promise<string[]> {
  const dir = deployment.nginx.drainDir;
  const listing = await runScript(deployment.nginx.ssh, `mkdir -p ${quote(dir)} && ls -1 ${quote(dir)}`);
  const names = new Set(deployment.hosts.map((host) => host.name));
  return listing.split('\n').filter((name) => names.has(name));
}

/** Refuses to drain a second host, or the last host of its set (nothing would be left to serve it). */
export async function drain(deployment: Deployment, host: Host): Promise<void> {
  const others = (await drainedHosts(deployment)).filter((name) => name !== host.name);
  if (others.length > 0)
    throw new Error(`cannot drain ${host.name}: ${others.join(', ')} is drained already (one host at a time)`);
  if (deployment.hosts.filter((other) => other.set === host.set).length < 2)
    throw new Error(`cannot drain ${host.name}: it is the only host of the ${host.set} set`);
  await runScript(deployment.nginx.ssh, `touch ${quote(path.posix.join(deployment.nginx.drainDir, host.name))}`);
}

export async function undrain(deployment: Deployment, host: Host): Promise<void> {
  await runScript(deployment.nginx.ssh, `rm -f ${quote(path.posix.join(deployment.nginx.drainDir, host.name))}`);
}
