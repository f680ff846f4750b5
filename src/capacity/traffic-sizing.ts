// Recommended server specifications by traffic level, computed from a few stated assumptions (the throughput
// per core comes from test/bench/http.ts on this code) and the same capacity plan the ecosystem file uses.
import { planCapacity, type CapacityPlan } from './plan.js';

export interface TrafficAssumptions {
  /** Authenticated API requests one core serves per second (measured by test/bench/http.ts). */
  requestsPerCorePerSec: number;
  /** API requests per connected user per minute (history reads, sends, presence). */
  requestsPerUserPerMin: number;
  /** Memory one connected socket costs, in KB (socket.io + session state). */
  socketKb: number;
  /** Memory an idle instance holds: Node, pools, caches, in MB. */
  instanceBaseMb: number;
  /** Keep cores below this utilisation at peak, to absorb bursts and reloads. */
  targetUtilisation: number;
  dbMaxConnections: number;
}

export interface ServerSize {
  cores: number;
  memoryMb: number;
}

/** Common cloud sizes at 2 GB or 4 GB per core. */
export const SERVER_SIZES: ServerSize[] = [
  { cores: 2, memoryMb: 4096 },
  { cores: 4, memoryMb: 8192 },
  { cores: 8, memoryMb: 16384 },
  { cores: 16, memoryMb: 32768 },
  { cores: 32, memoryMb: 65536 },
  { cores: 64, memoryMb: 131072 },
];

export const TRAFFIC_LEVELS = [1_000, 10_000, 50_000, 200_000, 1_000_000];

export interface TrafficRecommendation {
  concurrentUsers: number;
  peakRequestsPerSec: number;
  coresNeeded: number;
  memoryNeededMb: number;
  hosts: number;
  size: ServerSize;
  plan: CapacityPlan;
}

export function recommendForTraffic(users: number, a: TrafficAssumptions): TrafficRecommendation {
  const peakRequestsPerSec = Math.ceil((users * a.requestsPerUserPerMin) / 60);
  const coresNeeded = Math.max(2, Math.ceil(peakRequestsPerSec / (a.requestsPerCorePerSec * a.targetUtilisation)));
  for (let hosts = 1; hosts <= 10_000; hosts++) {
    const size = SERVER_SIZES.find((candidate) => fits(candidate, hosts, users, coresNeeded, a));
    if (!size) continue;
    const plan = planCapacity({
      cores: size.cores,
      memoryMb: size.memoryMb,
      dbMaxConnections: a.dbMaxConnections,
      hosts,
    });
    return {
      concurrentUsers: users,
      peakRequestsPerSec,
      coresNeeded,
      memoryNeededMb: memoryNeeded(size.cores, users / hosts, a),
      hosts,
      size,
      plan,
    };
  }
  throw new Error(`no fleet of up to 10000 hosts serves ${users} users under these assumptions`);
}

function fits(size: ServerSize, hosts: number, users: number, coresNeeded: number, a: TrafficAssumptions): boolean {
  if (size.cores * hosts < coresNeeded) return false;
  const plan = planCapacity({
    cores: size.cores,
    memoryMb: size.memoryMb,
    dbMaxConnections: a.dbMaxConnections,
    hosts,
  });
  // Each host's instances must hold their share of the sockets within the app guard's warning mark.
  const perInstanceNeedMb = memoryNeeded(size.cores, users / hosts, a) / plan.instances.value;
  // Database problems do not change the hardware; they show in the plan (raise the budget or add PgBouncer).
  return perInstanceNeedMb <= plan.memoryWarnMb.value;
}

function memoryNeeded(instances: number, usersOnHost: number, a: TrafficAssumptions): number {
  return Math.ceil(instances * a.instanceBaseMb + (usersOnHost * a.socketKb) / 1024);
}
