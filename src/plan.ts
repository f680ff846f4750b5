// `npm run plan`: prints the capacity plan for this machine (or `--cores 8 --memory 16G`), with the reason for
// each number, and the sizing tables. The same functions size the PM2 cluster in ecosystem.config.js.
// `npm run plan -- --alerts [--out FILE] [--job parley]`: the Prometheus alerting rules for that plan instead.
import { parseArgs } from 'node:util';
import { writeFileSync } from 'node:fs';
import { alertRules, renderAlertRules } from './capacity/alerts.js';
import {
  DEFAULT_DB_RESERVED_CONNECTIONS,
  SOCKET_KB,
  idleInstanceMb,
  parseMemoryMb,
  planCapacity,
  type PlanInput,
} from './capacity/plan.js';
import { fullReport } from './capacity/report.js';
import { detectCores, detectMemory, detectOpenFilesLimit } from './capacity/machine.js';
import { ConfigError, loadDeploymentSettings } from './config.js';
import type { TrafficAssumptions } from './capacity/traffic-sizing.js';

const { values } = parseArgs({
  options: {
    cores: { type: 'string' },
    memory: { type: 'string' },
    workers: { type: 'string' },
    hosts: { type: 'string' },
    'db-max-connections': { type: 'string' },
    'rps-per-core': { type: 'string' },
    'open-files': { type: 'string' },
    alerts: { type: 'boolean', default: false },
    out: { type: 'string' },
    job: { type: 'string', default: 'parley' },
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
    socketKb: SOCKET_KB,
    // The sizing runs one instance per core, so each has one thread in its CPU pool and one upload thread.
    instanceBaseMb: idleInstanceMb(1),
    targetUtilisation: 0.5,
    dbMaxConnections,
  };
  const input: PlanInput = {
    cores: numberFlag('cores', detectCores()),
    memoryMb: memory.memoryMb,
    memorySource: memory.source,
    maxWorkers: numberFlag('workers', settings.maxWorkers),
    dbMaxConnections,
    dbReservedConnections: settings.dbReservedConnections,
    hosts: numberFlag('hosts', settings.hosts),
    openFilesLimit: numberFlag('open-files', detectOpenFilesLimit()),
    replicaMaxConnections: settings.replicaMaxConnections,
    // As ecosystem.config.js plans it: the jobs app runs beside the API when Redis is configured.
    withJobs: settings.withJobs,
  };
  const text = values.alerts ? alertsFor(input) : `${fullReport(input, assumptions)}\n`;
  if (values.out) writeFileSync(values.out, text);
  else process.stdout.write(text);
} catch (error) {
  process.stderr.write(`${error instanceof ConfigError ? error.message : String(error)}\n`);
  process.exit(1);
}

function alertsFor(input: PlanInput): string {
  const plan = planCapacity(input);
  if (plan.problems.length > 0) throw new Error(`capacity plan is unsafe:\n- ${plan.problems.join('\n- ')}`);
  const reserved = input.dbReservedConnections ?? DEFAULT_DB_RESERVED_CONNECTIONS;
  const header = [
    'Parley alerting rules, written by `npm run plan -- --alerts` from the capacity plan for',
    `${input.cores} cores, ${input.memoryMb} MB (${input.memorySource ?? 'given'}), ${input.hosts} host(s), DB_MAX_CONNECTIONS=${input.dbMaxConnections}:`,
    `${plan.instances.value} instances, ${plan.memoryPerInstanceMb.value} MB each, MAX_CONNECTIONS=${plan.maxConnections.value}, DB_POOL_MAX=${plan.dbPoolMax.value}.`,
    'Regenerate them when the plan changes; check them with `promtool check rules FILE`.',
  ].join('\n');
  const job = values.job ?? 'parley';
  return renderAlertRules(
    alertRules({
      plan,
      cores: input.cores,
      dbMaxConnections: input.dbMaxConnections,
      dbReservedConnections: reserved,
      hosts: input.hosts,
      job,
    }),
    header,
  );
}
