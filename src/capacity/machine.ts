// What this machine offers: cores and memory, with a container's cgroup limits taking precedence over the host's
// (a container sees the host's RAM in os.totalmem() and every host core in os.availableParallelism(), but is killed
// at its memory limit and throttled at its CPU quota).
import { readFileSync } from 'node:fs';
import os from 'node:os';
import { getHeapStatistics } from 'node:v8';

export interface MachineMemory {
  memoryMb: number;
  source: 'MEMORY_LIMIT_MB' | 'cgroup v2' | 'cgroup v1' | 'host RAM';
}

const CGROUP_V2_LIMIT = '/sys/fs/cgroup/memory.max';
const CGROUP_V1_LIMIT = '/sys/fs/cgroup/memory/memory.limit_in_bytes';

const CGROUP_V2_CPU = '/sys/fs/cgroup/cpu.max';
const CGROUP_V1_CPU_QUOTA = '/sys/fs/cgroup/cpu/cpu.cfs_quota_us';
const CGROUP_V1_CPU_PERIOD = '/sys/fs/cgroup/cpu/cpu.cfs_period_us';

/** The usable cores: the CPUs this process may run on, capped by a cgroup CPU quota (`docker run --cpus 2`). */
export function detectCores(): number {
  const cpus = os.availableParallelism();
  const v2 = readOrUndefined(CGROUP_V2_CPU);
  const v1Quota = readOrUndefined(CGROUP_V1_CPU_QUOTA);
  const v1Period = readOrUndefined(CGROUP_V1_CPU_PERIOD);
  const quota =
    v2 !== undefined ? parseCpuMax(v2) : v1Quota && v1Period ? parseCpuMax(`${v1Quota} ${v1Period}`) : undefined;
  return quota === undefined ? cpus : Math.min(cpus, quota);
}

/**
 * Cores a CPU quota allows, rounded up (1.5 CPUs can keep 2 instances busy part-time), or undefined when there is
 * none: cgroup v2 writes "max 100000" when unlimited, v1 a quota of -1.
 */
export function parseCpuMax(text: string): number | undefined {
  const [quota, period] = text.trim().split(/\s+/).map(Number);
  if (quota === undefined || period === undefined || !(quota > 0) || !(period > 0)) return undefined;
  return Math.max(1, Math.ceil(quota / period));
}

function readOrUndefined(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8').trim();
  } catch {
    return undefined;
  }
}

/** `overrideMb` is MEMORY_LIMIT_MB, read by the caller (the ecosystem file or config.ts). */
export function detectMemory(overrideMb?: number): MachineMemory {
  const hostMb = Math.floor(os.totalmem() / 1024 / 1024);
  if (overrideMb !== undefined && overrideMb > 0) return { memoryMb: overrideMb, source: 'MEMORY_LIMIT_MB' };
  const v2 = cgroupLimitMb(CGROUP_V2_LIMIT, hostMb);
  if (v2 !== undefined) return { memoryMb: v2, source: 'cgroup v2' };
  const v1 = cgroupLimitMb(CGROUP_V1_LIMIT, hostMb);
  if (v1 !== undefined) return { memoryMb: v1, source: 'cgroup v1' };
  return { memoryMb: hostMb, source: 'host RAM' };
}

/**
 * A cgroup limit in MB, or undefined when there is none: v2 writes "max", v1 writes a huge page-aligned number
 * when unlimited; a limit above the host's RAM limits nothing either.
 */
export function cgroupLimitMb(path: string, hostMb: number): number | undefined {
  const text = readOrUndefined(path);
  return text === undefined ? undefined : parseCgroupLimitMb(text, hostMb);
}

export function parseCgroupLimitMb(text: string, hostMb: number): number | undefined {
  if (!/^\d+$/.test(text)) return undefined;
  const mb = Math.floor(Number(text) / 1024 / 1024);
  return mb > 0 && mb < hostMb ? mb : undefined;
}

/**
 * The soft limit on open files (`ulimit -n`) of this process, which PM2's workers inherit from the shell that
 * started the daemon; each socket is one descriptor. Undefined where /proc/self/limits cannot say (not Linux).
 */
export function detectOpenFilesLimit(limitsFile = '/proc/self/limits'): number | undefined {
  try {
    const line = readFileSync(limitsFile, 'utf8')
      .split('\n')
      .find((l) => l.startsWith('Max open files'));
    const soft = line?.split(/\s{2,}/)[1];
    return soft && /^\d+$/.test(soft) ? Number(soft) : undefined;
  } catch {
    return undefined;
  }
}

/** The V8 heap limit this process was started with (`--max-old-space-size`, or V8's default), in MB. */
export function detectHeapLimitMb(): number {
  return Math.round(getHeapStatistics().heap_size_limit / 1024 / 1024);
}
