// `npm run plan`: prints the capacity plan for this machine (or `--cores 8 --memory 16G`), with the reason for
// each number, and the sizing tables. The same functions size the PM2 cluster in ecosystem.config.js.
import { parseArgs } from 'node:util';
import { parseMemoryMb } from './ops/capacity.js';
import { fullReport } from './ops/capacity-report.js';
import { detectCores, detectMemory } from './ops/machine.js';
import { ConfigError, loadDeploymentSettings } from './config.js';
import type { TrafficAssumptions } from './ops/traffic-sizing.js';

const { values } = parseArgs({
  options: {
    cores: { type: 'string' },
    memory: { type: 'string' },
    workers: { type: 'string' },
    hosts: { type: 'string' },
    'db-max-connections': { type: 'string' },
    'rps-per-core': { type: 'string' },
  },
});

/** A flag's number, or the fallback when the flag is absent; anything but a positive number stops with its name. */
function numberFlag(name: string, fallback: number): number;
function numberFlag(name: string, fallback: number | undefined): number | undefined;
function numberFlag(name: string, fallback: number | undefined): number | undefined {
  const text = values[name as keyof typeof values];
  if (text === undefined) return fallback;
  const value = Number(text);
  if (!Number.isFinite(value) || value <= 0) throw new Error(`--${name} must be a positive number, got "${text}"`);
  return value;
}

// Measured by test/bench/http.ts (2026-11-22, 2-core EPYC shared with PostgreSQL, Redis and the load generator):
// one instance served 856 authenticated 50-message history reads per second. Rounded down; re-measure on the
// target hardware and pass --rps-per-core.
const MEASURED_RPS_PER_CORE = 850;

try {
  const settings = loadDeploymentSettings();
  const memory = values.memory
    ? { memoryMb: parseMemoryMb(values.memory), source: '--memory' }
    : detectMemory(settings.memoryLimitMb);
  const dbMaxConnections = numberFlag('db-max-connections', settings.dbMaxConnections);
  const assumptions: TrafficAssumptions = {
    requestsPerCorePerSec: numberFlag('rps-per-core', MEASURED_RPS_PER_CORE),
    requestsPerUserPerMin: 6,
    socketKb: 50,
    instanceBaseMb: 120,
    targetUtilisation: 0.5,
    dbMaxConnections,
  };
  const report = fullReport(
    {
      cores: numberFlag('cores', detectCores()),
      memoryMb: memory.memoryMb,
      memorySource: memory.source,
      maxWorkers: numberFlag('workers', settings.maxWorkers),
      dbMaxConnections,
      dbReservedConnections: settings.dbReservedConnections,
      hosts: numberFlag('hosts', settings.hosts),
      replicaMaxConnections: settings.replicaMaxConnections,
    },
    assumptions,
  );
  process.stdout.write(`${report}\n`);
} catch (error) {
  process.stderr.write(`${error instanceof ConfigError ? error.message : String(error)}\n`);
  process.exit(1);
}
