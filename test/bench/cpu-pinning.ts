// The layout the realtime targets are stated for, on a 2-core machine: the server side (the server processes,
// PostgreSQL and Redis) on one core, the load generator on the other. Linux only (taskset, from util-linux).
// PostgreSQL and Redis are the machine's shared services, so their pinning is undone when the benchmark ends.
import { execFileSync } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { pidsNamed } from './proc-cpu.js';

export const SERVER_CPU = '0';
export const LOAD_CPU = '1';

/** Pins every thread of `pid` (worker threads it starts later inherit the mask). */
export function pin(pid: number, cpus: string): void {
  try {
    execFileSync('taskset', ['--all-tasks', '--cpu-list', '--pid', cpus, String(pid)], { stdio: 'ignore' });
  } catch {
    // The process exited meanwhile (a PostgreSQL backend, say): nothing left to pin.
  }
}

const SERVICES = ['postgres', 'redis-server'];

/**
 * Pins PostgreSQL (the postmaster and its backends: new backends inherit the postmaster's mask) and Redis to the
 * server core. Returns the undo, which gives them every core again.
 */
export function pinServices(): () => void {
  if (availableParallelism() < 2) throw new Error('--pin needs at least 2 cores');
  const pinAll = (cpus: string) => SERVICES.flatMap(pidsNamed).forEach((pid) => pin(pid, cpus));
  pinAll(SERVER_CPU);
  return () => pinAll(`0-${availableParallelism() - 1}`);
}
