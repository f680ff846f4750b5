// The local topology's settings, from the environment (deploy/DEPLOYMENT.md, "Try it on one machine").
import os from 'node:os';
import path from 'node:path';
import { z } from 'zod';

const schema = z.object({
  TOPOLOGY_HOSTS: z.coerce.number().int().min(1).max(8).default(2),
  TOPOLOGY_INSTANCES: z.coerce.number().int().min(1).max(16).default(2),
  TOPOLOGY_PORT: z.coerce.number().int().min(0).max(65_535).default(8080),
  TOPOLOGY_DIR: z.string().default(path.join(os.tmpdir(), 'parley-topology')),
});

export interface TopologySettings {
  hosts: number;
  instances: number;
  /** nginx listens on 127.0.0.1:port; 0 picks a free port. */
  port: number;
  dir: string;
}

export function topologySettings(env: NodeJS.ProcessEnv = process.env): TopologySettings {
  const parsed = schema.safeParse(Object.fromEntries(Object.entries(env).filter(([, value]) => value !== '')));
  if (!parsed.success)
    throw new Error(`topology: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  const e = parsed.data;
  return { hosts: e.TOPOLOGY_HOSTS, instances: e.TOPOLOGY_INSTANCES, port: e.TOPOLOGY_PORT, dir: e.TOPOLOGY_DIR };
}

export const stateFile = (dir: string): string => path.join(dir, 'topology.json');
export const deploymentFile = (dir: string): string => path.join(dir, 'deployment.json');
