// The whole many-host system on one machine, no Docker: a PostgreSQL primary and streaming replica, Redis, N
// "hosts" (each its own PM2 daemon with its own PM2_HOME and ports, running ecosystem.config.js --env production
// from its own APP_DIR symlink to a release), and nginx in front with the files from nginx/.
// It writes deployment.json, a hosts file like deploy/hosts.example.json, so the deploy scripts drive these hosts
// through the same code as real ones.
import { randomBytes } from 'node:crypto';
import { chmod, mkdir, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { startPostgresCluster, type PgCluster } from './postgres-cluster.js';
import { startRedis, type TopologyRedis } from './redis.js';
import { startNginx, type TopologyNginx } from './nginx.js';
import { freePort, freePortRun } from './ports.js';
import { makeRelease } from './release.js';
import { deploymentFile } from './settings.js';
import type { Deployment, Host } from '../lib/hosts.js';
import { killHostPm2, startHost, waitHostReady } from '../lib/pm2-host.js';
import { quote } from '../lib/shell.js';

export interface TopologyOptions {
  dir: string;
  hosts: number;
  instances: number;
  /** nginx's port on 127.0.0.1; 0 for a free one. */
  port: number;
  /** Extra variables for every host's env file (tests: e.g. a short SHUTDOWN_TIMEOUT_MS). */
  env?: Record<string, string>;
  log?: (line: string) => void;
}

export interface Topology {
  dir: string;
  nginx: TopologyNginx;
  deployment: Deployment;
  hosts: Host[];
  pg: PgCluster;
  redis: TopologyRedis;
  /** The database every host uses. */
  databaseUrl: string;
  /** Who runs where, for people. */
  describe(): string;
  stop(): Promise<void>;
}

export const INITIAL_RELEASE = 'initial';

export async function startTopology(options: TopologyOptions): Promise<Topology> {
  const log = options.log ?? (() => undefined);
  const dir = options.dir;
  await mkdir(dir, { recursive: true });
  // nginx's workers (nobody) read the drain directory and the postgres user its data directory below this one.
  await chmod(dir, 0o755);
  const stops: Array<() => Promise<unknown>> = [];
  const stopAll = async () => {
    for (const stop of stops.reverse()) await stop().catch(() => undefined);
    stops.length = 0;
  };
  try {
    log('starting PostgreSQL primary and streaming replica');
    const pg = await startPostgresCluster({ dir: path.join(dir, 'postgres'), replicas: 1 });
    stops.push(() => pg.stop());
    await pg.createDatabase('parley');
    const databaseUrl = pg.primary.url('parley');

    log('starting Redis');
    const redis = await startRedis(dir);
    stops.push(() => redis.process.stop());

    const releases = path.join(dir, 'releases');
    await mkdir(releases, { recursive: true });
    await makeRelease(releases, INITIAL_RELEASE);

    const secrets = { JWT_SECRET: randomBytes(32).toString('hex'), SESSION_SECRET: randomBytes(32).toString('hex') };
    const hosts: Host[] = [];
    for (let index = 1; index <= options.hosts; index += 1) {
      const host = await prepareHost(dir, `host-${index}`, options, {
        ...secrets,
        DATABASE_URL: databaseUrl,
        DATABASE_REPLICA_URLS: pg.replicas.map((replica) => replica.url('parley')).join(','),
        REDIS_URL: redis.url,
        DEPLOY_HOSTS: String(options.hosts),
        ...options.env,
      });
      hosts.push(host);
    }
    const deployment: Deployment = {
      nginx: {
        confDir: path.join(dir, 'nginx', 'parley'),
        drainDir: path.join(dir, 'drain'),
        reload: `nginx -p ${quote(path.join(dir, 'nginx'))} -c ${quote(path.join(dir, 'nginx', 'nginx.conf'))} -s reload`,
      },
      hosts,
    };
    await writeFile(deploymentFile(dir), `${JSON.stringify(deployment, null, 2)}\n`);

    log(`starting ${hosts.length} PM2 hosts x ${options.instances} instances`);
    for (const host of hosts) stops.push(() => killHostPm2(host));
    await Promise.all(hosts.map((host) => startHost(host)));
    await Promise.all(hosts.map((host) => waitHostReady(host, 60_000)));

    log('starting nginx');
    const nginx = await startNginx(path.join(dir, 'nginx'), options.port || (await freePort()), deployment);
    stops.push(() => nginx.process.stop('SIGQUIT'));

    return {
      dir,
      nginx,
      deployment,
      hosts,
      pg,
      redis,
      databaseUrl,
      describe: () => describe(nginx, hosts, pg, redis, dir),
      stop: stopAll,
    };
  } catch (error) {
    await stopAll();
    throw error;
  }
}

/** Where a topology host's PM2 daemon keeps its state (PM2_HOME: pm2.pid, logs/). */
export const pm2Home = (dir: string, hostName: string): string => path.join(dir, 'hosts', hostName, 'pm2');

async function prepareHost(
  dir: string,
  name: string,
  options: TopologyOptions,
  shared: Record<string, string>,
): Promise<Host> {
  const home = path.join(dir, 'hosts', name);
  const appDir = path.join(home, 'current');
  await mkdir(pm2Home(dir, name), { recursive: true });
  await symlink(path.join(dir, 'releases', INITIAL_RELEASE), appDir);
  const port = await freePort();
  const instancePortBase = await freePortRun(options.instances);
  const env: Record<string, string> = {
    PM2_HOME: pm2Home(dir, name),
    APP_DIR: appDir,
    HOST: '127.0.0.1',
    PORT: String(port),
    INSTANCE_PORT_BASE: String(instancePortBase),
    INSTANCE_ID: name,
    MAX_WORKERS: String(options.instances),
    // These suites count and reload the API's processes; the jobs app has its own tests (test/integration/jobs/).
    JOBS_APP: 'false',
    // The topology's PostgreSQL allows 200 connections; the plan splits these over hosts and instances.
    DB_MAX_CONNECTIONS: '150',
    TRUST_PROXY: '1',
    // Plain HTTP on loopback; behind TLS in production, leave it unset (secure cookies).
    SESSION_COOKIE_SECURE: 'false',
    LOG_LEVEL: 'info',
    ...shared,
  };
  const envFile = path.join(home, 'env');
  await writeFile(
    envFile,
    Object.entries(env)
      .map(([key, value]) => `${key}=${quote(value)}`)
      .join('\n') + '\n',
  );
  return {
    name,
    address: '127.0.0.1',
    port,
    instancePortBase,
    instances: options.instances,
    set: 'blue',
    pm2: { appDir, releasesDir: path.join(dir, 'releases'), envFile, bin: 'node node_modules/pm2/bin/pm2' },
  };
}

function describe(nginx: TopologyNginx, hosts: Host[], pg: PgCluster, redis: TopologyRedis, dir: string): string {
  return [
    `Parley topology in ${dir}`,
    `  nginx        ${nginx.url}   (logs: ${nginx.prefix}/logs)`,
    ...hosts.map(
      (host) =>
        `  ${host.name.padEnd(12)} PM2 ${host.instances} instances, API 127.0.0.1:${host.port}, instance ports ${host.instancePortBase}-${host.instancePortBase! + host.instances - 1}, PM2_HOME ${dir}/hosts/${host.name}/pm2`,
    ),
    `  postgres     primary 127.0.0.1:${pg.primary.port}, replica ${pg.replicas.map((r) => `127.0.0.1:${r.port}`).join(', ')} (database parley, user postgres)`,
    `  redis        ${redis.url}`,
    `  hosts file   ${deploymentFile(dir)} (npm run deploy:rolling / deploy:canary use it)`,
  ].join('\n');
}
