// The capacity plan (plan.ts, pure arithmetic) applied to the machine this process runs on: the only place
// that probes it (cores and memory from cgroups, the open-files limit, V8's heap limit). config.ts falls back to
// these sizes for what is not set; ecosystem.config.js and `npm run plan` size the cluster with planThisMachine.
import {
  effectiveMarks,
  memoryMarks,
  planCapacity,
  socketCapPerInstance,
  workerThreadsPerInstance,
  type CapacityPlan,
  type PlanInput,
} from './plan.js';
import { detectCores, detectHeapLimitMb, detectMemory, detectOpenFilesLimit } from './machine.js';

export interface ProcessSizes {
  workerThreads: number;
  /** Sockets one process accepts (MAX_CONNECTIONS). */
  socketCap: number;
  /** The memory guard's marks for one process, fitted under the heap limit this process actually has. */
  memory: { warnMb: number; restartMb: number };
}

/** What one of `instances` processes on this machine is sized to when the settings do not say. */
export function processSizes(memoryLimitMb: number | undefined, instances: number): ProcessSizes {
  const planned = memoryMarks(detectMemory(memoryLimitMb).memoryMb, 1);
  const workerThreads = workerThreadsPerInstance(detectCores(), instances);
  return {
    workerThreads,
    socketCap: socketCapPerInstance(planned.warnMb, workerThreads, detectOpenFilesLimit()),
    // Started without PM2's --max-old-space-size, the V8 heap limit can sit far below the machine's share: the
    // defaults are fitted under it here, so the guard's warning about lowered marks is kept for marks an operator set.
    memory: effectiveMarks(planned.warnMb, planned.guardRestartMb, detectHeapLimitMb()),
  };
}

/** The cluster plan for this machine (cores, memory, open files probed here), with the deployment's settings. */
export function planThisMachine(
  settings: Omit<PlanInput, 'cores' | 'memoryMb' | 'memorySource' | 'openFilesLimit'> & { memoryLimitMb?: number },
): CapacityPlan {
  const memory = detectMemory(settings.memoryLimitMb);
  return planCapacity({
    ...settings,
    cores: detectCores(),
    memoryMb: memory.memoryMb,
    memorySource: memory.source,
    openFilesLimit: detectOpenFilesLimit(),
  });
}
