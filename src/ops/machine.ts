// What this machine offers: cores and memory, with a container's cgroup limit taking precedence over the host's
// RAM (a container sees the host's RAM in os.totalmem() but is killed at its cgroup limit).
import { readFileSync } from 'node:fs';
import os from 'node:os';

export interface MachineMemory {
  memoryMb: number;
  source: 'MEMORY_LIMIT_MB' | 'cgroup v2' | 'cgroup v1' | 'host RAM';
}

const CGROUP_V2_LIMIT = '/sys/fs/cgroup/memory.max';
const CGROUP_V1_LIMIT = '/sys/fs/cgroup/memory/memory.limit_in_bytes';

export function detectCores(): number {
  return os.availableParallelism();
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
  let text: string;
  try {
    text = readFileSync(path, 'utf8').trim();
  } catch {
    return undefined;
  }
  return parseCgroupLimitMb(text, hostMb);
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
    const line = readFileSync(limitsFile, 'utf8').split('\n').find((l) => l.startsWith('Max open files'));
    const soft = line?.split(/\s{2,}/)[1];
    return soft && /^\d+$/.test(soft) ? Number(soft) : undefined;
  } catch {
    return undefined;
  }
}
