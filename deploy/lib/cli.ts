// What the deploy scripts share: which hosts (a hosts file, or the running local topology) and the rollout flags.
import { existsSync } from 'node:fs';
import { deploymentFile, topologySettings } from '../topology/settings.js';
import { parseFlags } from './args.js';
import { loadDeployment, type Deployment } from './hosts.js';
import type { RolloutOptions } from './rollout.js';

export interface DeployCommand {
  deployment: Deployment;
  source: string;
  flags: Map<string, string>;
  rollout: RolloutOptions;
}

export function readDeployCommand(argv: string[]): DeployCommand {
  const flags = parseFlags(argv);
  const topology = deploymentFile(topologySettings().dir);
  const source = flags.get('hosts') ?? (existsSync(topology) ? topology : undefined);
  if (source === undefined)
    throw new Error(
      `no hosts: pass --hosts FILE (see deploy/hosts.example.json) or start the topology (npm run topology:up)`,
    );
  return {
    deployment: loadDeployment(source),
    source,
    flags,
    rollout: {
      release: flags.get('release'),
      drainMs: number(flags, 'drain-ms', 2_000),
      readyTimeoutMs: number(flags, 'ready-timeout-ms', 60_000),
      log: (line) => console.log(`[${new Date().toISOString()}] ${line}`),
    },
  };
}

export function number(flags: Map<string, string>, name: string, fallback: number): number {
  const value = flags.get(name);
  if (value === undefined) return fallback;
  const parsed = Number(value);
  if (!Number.isFinite(parsed) || parsed < 0) throw new Error(`--${name}: expected a number, got ${value}`);
  return parsed;
}

/** Runs a deploy script's body: a failure prints its message (no stack) and exits 1. */
export function runCli(body: () => Promise<void>): void {
  body().then(
    () => process.exit(0),
    (error: unknown) => {
      console.error(`deploy failed: ${error instanceof Error ? error.message : String(error)}`);
      process.exit(1);
    },
  );
}
