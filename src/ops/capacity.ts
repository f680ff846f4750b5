// Capacity planning: pool sizes are arithmetic over the whole deployment, written once here and used everywhere.
// Pure functions only, so the plan can be unit-tested and printed without starting anything.

/**
 * Worker threads for each process: instances x threads must stay within the cores, because CPU-bound threads
 * beyond the core count only queue for the CPU and add context switches (Piscina's default of 1.5 x CPUs per
 * process multiplies by the PM2 instance count). Never fewer than one, so every process can make progress.
 */
export function workerThreadsPerInstance(cores: number, instances: number): number {
  if (!Number.isInteger(cores) || cores < 1) throw new RangeError(`cores must be a positive integer, got ${cores}`);
  if (!Number.isInteger(instances) || instances < 1) throw new RangeError(`instances must be a positive integer, got ${instances}`);
  return Math.max(1, Math.floor(cores / instances));
}
