// A throw-away PostgreSQL primary with N streaming replicas, for tests and benchmarks that need real replication.
// Everything lives in one temporary directory: data directories, logs and the unix sockets. Each server listens on
// 127.0.0.1 on a port the OS said was free; the machine's own cluster (5432) is never touched.
//
// initdb, pg_ctl and postgres refuse to run as root, so as root every command runs as the `postgres` user
// (runuser) and the directory is handed to that user. The servers are built for speed, not durability (fsync off):
// they are deleted at stop().
import { execFile, execFileSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { appendFile, chown, mkdir, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { freePort } from './ports.js';

const run = promisify(execFile);

export interface PgNode {
  /** `primary`, `replica1`, `replica2`, ... */
  name: string;
  port: number;
  dataDir: string;
  /** postgres://postgres@127.0.0.1:<port>/<database>; the database defaults to `postgres`. */
  url(database?: string): string;
  /** `fast` (default) is a clean shutdown; `immediate` is the nearest thing to a crash. */
  stop(mode?: 'fast' | 'immediate'): Promise<void>;
  start(): Promise<void>;
  readonly running: boolean;
}

export interface PgCluster {
  primary: PgNode;
  replicas: PgNode[];
  /** The directory holding everything (removed by stop() when this module created it). */
  dir: string;
  /** Creates a database on the primary and waits until every running replica has it. */
  createDatabase(name: string): Promise<void>;
  /** Stops every server and removes what this module created. */
  stop(): Promise<void>;
}

export interface PgClusterOptions {
  /** A directory to build in (created if missing, must be reachable by the `postgres` user); default a new one under the OS temp dir. */
  dir?: string;
  replicas?: number;
  /** The PostgreSQL bin directory; default the newest /usr/lib/postgresql/<version>/bin. */
  binDir?: string;
}

/** The newest installed PostgreSQL's bin directory (Debian layout), or null when none is installed there. */
export function findPostgresBin(): string | null {
  const root = '/usr/lib/postgresql';
  if (!existsSync(root)) return null;
  const versions = readdirSync(root)
    .filter((version) => existsSync(path.join(root, version, 'bin', 'initdb')))
    .sort((a, b) => Number(b) - Number(a));
  return versions[0] === undefined ? null : path.join(root, versions[0], 'bin');
}

const asRoot = process.getuid?.() === 0;

/** Runs a PostgreSQL binary as the `postgres` user when we are root, else as ourselves. */
async function pgCommand(binDir: string, cwd: string, command: string, args: string[]): Promise<void> {
  const binary = path.join(binDir, command);
  const [file, argv] = asRoot ? ['runuser', ['-u', 'postgres', '--', binary, ...args]] : [binary, args];
  try {
    await run(file, argv, { cwd, timeout: 60_000 });
  } catch (error) {
    const { stderr, stdout } = error as { stderr?: string; stdout?: string };
    throw new Error(`${command} ${args.join(' ')} failed: ${(stderr || stdout || (error as Error).message).trim()}`);
  }
}

// Servers still running when this process exits (a test that crashed before stop()) are stopped synchronously,
// so no postgres outlives the run that started it.
const runningDataDirs = new Map<string, string>();
process.once('exit', () => {
  for (const [dataDir, binDir] of runningDataDirs) {
    const binary = path.join(binDir, 'pg_ctl');
    const args = ['-D', dataDir, '-m', 'immediate', '-w', 'stop'];
    try {
      if (asRoot)
        execFileSync('runuser', ['-u', 'postgres', '--', binary, ...args], { stdio: 'ignore', cwd: os.tmpdir() });
      else execFileSync(binary, args, { stdio: 'ignore', cwd: os.tmpdir() });
    } catch {
      // Already gone.
    }
  }
});

function settings(port: number, socketDir: string): string {
  return [
    '',
    '# parley postgres-cluster',
    `port = ${port}`,
    "listen_addresses = '127.0.0.1'",
    `unix_socket_directories = '${socketDir}'`,
    'wal_level = replica',
    'max_wal_senders = 10',
    'max_replication_slots = 10',
    'hot_standby = on',
    // A replica stopped for a while must be able to catch up from the primary's WAL when it starts again.
    'wal_keep_size = 256MB',
    // The primary's pg_stat_replication and the replica's receiver state refresh every second instead of ten.
    'wal_receiver_status_interval = 1s',
    'max_connections = 200',
    'shared_buffers = 32MB',
    'fsync = off',
    'full_page_writes = off',
    'synchronous_commit = on',
    '',
  ].join('\n');
}

function makeNode(name: string, dataDir: string, port: number, binDir: string, dir: string): PgNode {
  const logFile = path.join(dir, `${name}.log`);
  const node: PgNode = {
    name,
    port,
    dataDir,
    url: (database = 'postgres') => `postgres://postgres@127.0.0.1:${port}/${database}`,
    get running() {
      return runningDataDirs.has(dataDir);
    },
    async start() {
      await pgCommand(binDir, dir, 'pg_ctl', ['-D', dataDir, '-l', logFile, '-w', '-t', '60', 'start']);
      runningDataDirs.set(dataDir, binDir);
    },
    async stop(mode = 'fast') {
      if (!runningDataDirs.has(dataDir)) return;
      await pgCommand(binDir, dir, 'pg_ctl', ['-D', dataDir, '-m', mode, '-w', '-t', '60', 'stop']);
      runningDataDirs.delete(dataDir);
    },
  };
  return node;
}

async function withClient<T>(url: string, work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5000 });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

/** The primary's current WAL position (what a replica must replay to have seen every commit so far). */
export async function currentLsn(primary: PgNode): Promise<string> {
  return withClient(primary.url(), async (client) => {
    const { rows } = await client.query<{ lsn: string }>('SELECT pg_current_wal_lsn()::text AS lsn');
    return rows[0]!.lsn;
  });
}

/** Resolves once the replica has replayed the primary's current WAL position (or the given one). */
export async function waitForReplay(replica: PgNode, primaryOrLsn: PgNode | string, timeoutMs = 15_000): Promise<void> {
  const lsn = typeof primaryOrLsn === 'string' ? primaryOrLsn : await currentLsn(primaryOrLsn);
  const deadline = Date.now() + timeoutMs;
  await withClient(replica.url(), async (client) => {
    for (;;) {
      const { rows } = await client.query<{ replayed: boolean }>(
        'SELECT coalesce(pg_last_wal_replay_lsn() >= $1::pg_lsn, false) AS replayed',
        [lsn],
      );
      if (rows[0]!.replayed) return;
      if (Date.now() > deadline) throw new Error(`${replica.name} did not replay ${lsn} within ${timeoutMs} ms`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  });
}

/** Stops (true) or resumes (false) WAL replay on a replica: it keeps receiving but its data stands still. */
export async function setReplayPaused(replica: PgNode, paused: boolean): Promise<void> {
  await withClient(replica.url(), (client) =>
    client.query(paused ? 'SELECT pg_wal_replay_pause()' : 'SELECT pg_wal_replay_resume()'),
  );
}

export async function startPostgresCluster(options: PgClusterOptions = {}): Promise<PgCluster> {
  const binDir = options.binDir ?? findPostgresBin();
  if (binDir === null) throw new Error('PostgreSQL server binaries not found under /usr/lib/postgresql (pass binDir)');
  const ownsDir = options.dir === undefined;
  const dir = options.dir ?? (await mkdtemp(path.join(os.tmpdir(), 'parley-pg-')));
  await mkdir(dir, { recursive: true });
  const postgresIds = asRoot ? await idsOf('postgres') : null;
  if (postgresIds) await chown(dir, postgresIds.uid, postgresIds.gid);

  const nodes: PgNode[] = [];
  const cluster: PgCluster = {
    dir,
    primary: undefined as unknown as PgNode, // set right after initdb, before anyone can see the cluster
    replicas: [],
    async createDatabase(name) {
      await withClient(cluster.primary.url(), (client) => client.query(`CREATE DATABASE ${pg.escapeIdentifier(name)}`));
      const lsn = await currentLsn(cluster.primary);
      await Promise.all(
        cluster.replicas.filter((replica) => replica.running).map((replica) => waitForReplay(replica, lsn)),
      );
    },
    async stop() {
      // Replicas first: a primary stopped under streaming replicas waits for them to receive its shutdown record.
      await Promise.allSettled(cluster.replicas.map((replica) => replica.stop('immediate')));
      if (nodes[0]) await nodes[0].stop('fast').catch(() => undefined);
      if (ownsDir) await rm(dir, { recursive: true, force: true });
      else await Promise.all(nodes.map((node) => rm(node.dataDir, { recursive: true, force: true })));
    },
  };

  try {
    const primaryDir = path.join(dir, 'primary');
    await pgCommand(binDir, dir, 'initdb', [
      '-D',
      primaryDir,
      '-U',
      'postgres',
      '-A',
      'trust',
      '--no-sync',
      '--no-instructions',
      '-E',
      'UTF8',
    ]);
    const primary = makeNode('primary', primaryDir, await freePort(), binDir, dir);
    await appendFile(path.join(primaryDir, 'postgresql.conf'), settings(primary.port, dir));
    nodes.push(primary);
    cluster.primary = primary;
    await primary.start();

    const replicaCount = options.replicas ?? 1;
    for (let index = 1; index <= replicaCount; index += 1) {
      const name = `replica${index}`;
      const dataDir = path.join(dir, name);
      // -R writes standby.signal and primary_conninfo; -X stream copies the WAL written during the copy.
      await pgCommand(binDir, dir, 'pg_basebackup', [
        '-h',
        '127.0.0.1',
        '-p',
        String(primary.port),
        '-U',
        'postgres',
        '-D',
        dataDir,
        '-R',
        '-X',
        'stream',
        '-c',
        'fast',
        '--no-sync',
      ]);
      const replica = makeNode(name, dataDir, await freePort(), binDir, dir);
      // The copied postgresql.conf names the primary's port; a later line wins.
      await appendFile(path.join(dataDir, 'postgresql.conf'), settings(replica.port, dir));
      nodes.push(replica);
      cluster.replicas.push(replica);
      await replica.start();
    }
    await Promise.all(cluster.replicas.map((replica) => waitForReplay(replica, primary)));
    return cluster;
  } catch (error) {
    await cluster.stop();
    throw error;
  }
}

async function idsOf(user: string): Promise<{ uid: number; gid: number }> {
  const [uid, gid] = await Promise.all([run('id', ['-u', user]), run('id', ['-g', user])]);
  return { uid: Number(uid.stdout.trim()), gid: Number(gid.stdout.trim()) };
}
