// The deployment's hosts, from a file an operator writes (deploy/hosts.example.json) or from the running local
// topology (which writes the same shape). Everything downstream (nginx upstreams, drains, reloads) reads this one
// description, so the topology and real hosts share every code path.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';

const name = z
  .string()
  .regex(/^[a-z0-9][a-z0-9-]{0,30}$/, 'lower-case letters, digits and dashes (used in nginx names and file names)');
const port = z.number().int().min(1).max(65_535);

const hostSchema = z.object({
  name,
  /** What nginx connects to. */
  address: z.string().min(1),
  /** PORT: the API (every instance of the host shares it; PM2 hands connections out). */
  port,
  /** INSTANCE_PORT_BASE: instance i also listens on base + i (socket.io stickiness to one process). */
  instancePortBase: port.optional(),
  /** How many PM2 instances the host runs (MAX_WORKERS, or its cores): nginx lists one socket port per instance. */
  instances: z.number().int().min(1).default(1),
  /** Blue-green: the upstream set this host belongs to. */
  set: z.enum(['blue', 'green']).default('blue'),
  pm2: z.object({
    /** `user@host` to run PM2 over ssh; absent: this machine. */
    ssh: z.string().optional(),
    /** The directory PM2 runs Parley from: a `current` symlink to a release (APP_DIR). */
    appDir: z.string().min(1),
    /** Where releases live on the host; default: `releases` beside appDir. */
    releasesDir: z.string().optional(),
    /** A file of VAR=value lines (the production environment) read before every PM2 command. */
    envFile: z.string().min(1),
    /** How to call PM2 from appDir. */
    bin: z.string().default('node node_modules/pm2/bin/pm2'),
  }),
});

const deploymentSchema = z.object({
  nginx: z.object({
    /** Where the generated upstreams.conf and drain.conf go (the directory parley.conf includes them from). */
    confDir: z.string().min(1),
    /** nginx checks for a file named after a host here on every request: present means drained. */
    drainDir: z.string().min(1),
    /** `user@host` of the nginx machine; absent: this machine. */
    ssh: z.string().optional(),
    /** How to reload nginx after its files change (not needed for drains, which are files). */
    reload: z.string().default('nginx -s reload'),
  }),
  hosts: z.array(hostSchema).min(1),
});

export type Host = z.infer<typeof hostSchema>;
export type Deployment = z.infer<typeof deploymentSchema>;

export function parseDeployment(value: unknown, source: string): Deployment {
  const parsed = deploymentSchema.safeParse(value);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`);
    throw new Error(`${source}: invalid hosts file:\n  - ${problems.join('\n  - ')}`);
  }
  const names = parsed.data.hosts.map((host) => host.name);
  const twice = names.filter((host, index) => names.indexOf(host) !== index);
  if (twice.length > 0) throw new Error(`${source}: host names must be unique (${twice.join(', ')})`);
  return parsed.data;
}

export function loadDeployment(file: string): Deployment {
  return parseDeployment(JSON.parse(readFileSync(file, 'utf8')), file);
}

export const releasesDir = (host: Host): string =>
  host.pm2.releasesDir ?? path.join(path.dirname(host.pm2.appDir), 'releases');

/** The socket.io ports of a host: one per instance when it has instance ports, else its API port. */
export const socketPorts = (host: Host): number[] =>
  host.instancePortBase === undefined
    ? [host.port]
    : Array.from({ length: host.instances }, (_, i) => host.instancePortBase! + i);
