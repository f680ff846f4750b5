// The topology's nginx: its own prefix directory (pid, logs, temp paths) holding the shipped nginx/ files, with
// site.conf (listen address, access log) and the rendered upstreams.conf and drain.conf for these hosts.
import { execFile } from 'node:child_process';
import { chmod, copyFile, mkdir, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import type { Deployment } from '../lib/hosts.js';
import { renderNginxFiles } from '../lib/nginx-config.js';
import { startOwned, type OwnedProcess } from './processes.js';
import { REPO } from './release.js';

const run = promisify(execFile);
const SHIPPED = path.join(REPO, 'nginx');

export interface TopologyNginx {
  url: string;
  port: number;
  prefix: string;
  accessLog: string;
  process: OwnedProcess;
  /** `nginx -s reload` (after editing live.conf, the blue-green switch). */
  reload(): Promise<void>;
}

/** Writes the prefix directory; returns the path of its nginx.conf. */
export async function writeNginxPrefix(prefix: string, port: number, deployment: Deployment): Promise<string> {
  const parley = path.join(prefix, 'parley');
  await mkdir(path.join(prefix, 'logs'), { recursive: true });
  await mkdir(path.join(prefix, 'temp'), { recursive: true });
  await mkdir(parley, { recursive: true });
  await copyFile(path.join(SHIPPED, 'nginx.conf'), path.join(prefix, 'nginx.conf'));
  await symlink(path.join(SHIPPED, 'parley.conf'), path.join(parley, 'parley.conf'));
  // A copy: the blue-green switch edits it, never the shipped file.
  await copyFile(path.join(SHIPPED, 'live.conf'), path.join(parley, 'live.conf'));
  const accessLog = path.join(prefix, 'logs', 'parley-access.log');
  await writeFile(
    path.join(parley, 'site.conf'),
    [
      '# The local topology: loopback only.',
      `listen 127.0.0.1:${port};`,
      'server_name _;',
      `access_log ${accessLog} parley_json;`,
      '',
    ].join('\n'),
  );
  for (const [name, text] of Object.entries(renderNginxFiles(deployment)))
    await writeFile(path.join(parley, name), text);
  // nginx's workers run as nobody when started by root: they must reach the drain directory to see drains.
  await mkdir(deployment.nginx.drainDir, { recursive: true });
  await chmod(deployment.nginx.drainDir, 0o755);
  return path.join(prefix, 'nginx.conf');
}

export async function startNginx(prefix: string, port: number, deployment: Deployment): Promise<TopologyNginx> {
  const conf = await writeNginxPrefix(prefix, port, deployment);
  const base = ['-p', prefix, '-c', conf];
  await run('nginx', [...base, '-t', '-q']).catch((error: { stderr?: string }) => {
    throw new Error(`nginx -t failed: ${error.stderr ?? String(error)}`);
  });
  // In the foreground, as our child, so it is stopped by its pid.
  const process = startOwned('nginx', [...base, '-g', 'daemon off;'], path.join(prefix, 'logs', 'stderr.log'));
  const url = `http://127.0.0.1:${port}`;
  for (let attempt = 0; attempt < 100; attempt += 1) {
    try {
      await fetch(`${url}/health/live`, { signal: AbortSignal.timeout(1_000) }).then((r) => r.arrayBuffer());
      break;
    } catch {
      if (process.child.exitCode !== null) throw new Error(`nginx exited at start (see ${prefix}/logs)`);
      await sleep(100);
    }
  }
  return {
    url,
    port,
    prefix,
    accessLog: path.join(prefix, 'logs', 'parley-access.log'),
    process,
    async reload() {
      await run('nginx', [...base, '-s', 'reload']);
    },
  };
}
