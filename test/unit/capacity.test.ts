import { expect } from 'chai';
import {
  dbPoolMaxPerInstance,
  instanceCount,
  memoryMarks,
  parseMemoryMb,
  planCapacity,
  socketCapPerInstance,
  workerThreadsPerInstance,
} from '../../src/capacity/plan.js';
import { parseCgroupLimitMb, parseCpuMax } from '../../src/capacity/machine.js';
import { recommendForTraffic, type TrafficAssumptions } from '../../src/capacity/traffic-sizing.js';

describe('capacity plan', () => {
  it('when MAX_WORKERS is unset, then one instance per core; when set, capped at the cores', () => {
    expect(instanceCount(4)).to.equal(4);
    expect(instanceCount(4, 2)).to.equal(2);
    expect(instanceCount(4, 16)).to.equal(4);
    expect(instanceCount(0.5)).to.equal(1);
  });

  it('when instances share the cores, then instances x threads stays within them and each gets at least 1', () => {
    for (const [cores, instances] of [
      [2, 2],
      [8, 3],
      [16, 4],
      [1, 4],
    ] as const) {
      const threads = workerThreadsPerInstance(cores, instances);
      expect(threads).to.be.at.least(1);
      if (instances <= cores) expect(threads * instances).to.be.at.most(cores);
    }
    expect(workerThreadsPerInstance(16, 4)).to.equal(4);
  });

  it('when an instance runs more worker threads, then its socket cap leaves room for them and for as many upload threads', () => {
    // Under a 1,000 MB warning mark, at 50 KB a socket: 120 MB + 2 pools x 1 thread x 20 MB leaves 840 MB; with 4
    // threads per pool, 720 MB.
    expect(socketCapPerInstance(1_000, 1)).to.equal(Math.floor((840 * 1024) / 50));
    expect(socketCapPerInstance(1_000, 4)).to.equal(Math.floor((720 * 1024) / 50));
    const plan = planCapacity({ cores: 4, memoryMb: 8192, maxWorkers: 1, dbMaxConnections: 100, hosts: 1 });
    expect(plan.workerThreads.value).to.equal(4);
    expect(plan.maxConnections.value).to.equal(socketCapPerInstance(plan.memoryWarnMb.value, 4));
    expect(plan.maxConnections.reason).to.include('280 MB idle instance');
  });

  it('then the memory marks keep their order: warn < guard restart < PM2 restart < heap limit', () => {
    for (const [memoryMb, instances] of [
      [4096, 2],
      [16384, 8],
      [1024, 1],
      [65536, 32],
    ] as const) {
      const marks = memoryMarks(memoryMb, instances);
      expect(marks.warnMb).to.be.below(marks.guardRestartMb);
      expect(marks.guardRestartMb).to.be.below(marks.pm2RestartMb);
      expect(marks.pm2RestartMb).to.be.below(marks.heapLimitMb);
      // All instances together stay within the machine, reserve included.
      expect(marks.pm2RestartMb * instances).to.be.below(memoryMb);
    }
  });

  it('when the database budget is split, then the whole deployment stays within it even mid-reload', () => {
    const budget = { maxConnections: 100, reserved: 5, hosts: 3, instancesPerHost: 4 };
    const pool = dbPoolMaxPerInstance(budget);
    expect(pool).to.equal(6);
    // During a rolling reload each host briefly runs instances + 1 processes.
    expect(pool * budget.hosts * (budget.instancesPerHost + 1) + budget.reserved).to.be.at.most(budget.maxConnections);
  });

  it('when connections or memory cannot cover every instance, then the plan names the problem', () => {
    const plan = planCapacity({ cores: 64, memoryMb: 4096, dbMaxConnections: 20, hosts: 2 });
    expect(plan.problems.join('\n'))
      .to.match(/DB_MAX_CONNECTIONS/)
      .and.match(/MB/);
    expect(planCapacity({ cores: 2, memoryMb: 4096, dbMaxConnections: 100, hosts: 1 }).problems).to.deep.equal([]);
  });

  it('then every number in the plan carries a reason', () => {
    const plan = planCapacity({ cores: 8, memoryMb: 16384, dbMaxConnections: 200, hosts: 2, maxWorkers: 6 });
    expect(plan.instances.value).to.equal(6);
    for (const line of Object.values(plan).filter((value) => 'reason' in value))
      expect(line.reason).to.be.a('string').and.not.be.empty;
  });

  it('when sizes are written as 16G, 512M or plain MB, then they parse to megabytes', () => {
    expect(parseMemoryMb('16G')).to.equal(16384);
    expect(parseMemoryMb('512m')).to.equal(512);
    expect(parseMemoryMb('2048')).to.equal(2048);
    expect(parseMemoryMb('1.5GB')).to.equal(1536);
    expect(() => parseMemoryMb('lots')).to.throw(/memory size/);
  });

  it('when a cgroup reports no limit, then the host RAM counts; a real limit wins', () => {
    expect(parseCgroupLimitMb('max', 8192)).to.equal(undefined);
    expect(parseCgroupLimitMb('9223372036854771712', 8192)).to.equal(undefined);
    expect(parseCgroupLimitMb(String(2 * 1024 ** 3), 8192)).to.equal(2048);
  });

  it('when a container has a CPU quota (cpu.max), then the instances follow it, not the host cores', () => {
    expect(parseCpuMax('max 100000')).to.equal(undefined);
    expect(parseCpuMax('-1 100000')).to.equal(undefined);
    expect(parseCpuMax('200000 100000')).to.equal(2);
    expect(parseCpuMax('150000 100000')).to.equal(2);
    expect(parseCpuMax('50000 100000')).to.equal(1);
    expect(instanceCount(parseCpuMax('200000 100000')!)).to.equal(2);
  });
});

describe('traffic sizing', () => {
  const assumptions: TrafficAssumptions = {
    requestsPerCorePerSec: 1000,
    requestsPerUserPerMin: 6,
    socketKb: 50,
    instanceBaseMb: 120,
    targetUtilisation: 0.5,
    dbMaxConnections: 500,
  };

  it('when traffic grows, then the recommended fleet never shrinks and always has the cores it needs', () => {
    let previousCores = 0;
    for (const users of [1_000, 10_000, 100_000, 1_000_000]) {
      const r = recommendForTraffic(users, assumptions);
      const cores = r.hosts * r.size.cores;
      expect(cores).to.be.at.least(r.coresNeeded);
      expect(cores).to.be.at.least(previousCores);
      previousCores = cores;
    }
  });
});

describe('capacity: workerThreadsPerInstance bounds', () => {
  it('when there are more instances than cores, then each still gets one thread', () => {
    expect(workerThreadsPerInstance(2, 4)).to.equal(1);
  });

  it('when a count is not a positive integer, then it throws a RangeError', () => {
    expect(() => workerThreadsPerInstance(0, 1)).to.throw(RangeError);
    expect(() => workerThreadsPerInstance(2, 0)).to.throw(RangeError);
    expect(() => workerThreadsPerInstance(2.5, 1)).to.throw(RangeError);
  });
});

describe('capacity: replica pools against the replicas own budget', () => {
  it('when replicas accept their own number of connections, then DB_READ_POOL_MAX divides that, not the primary budget', () => {
    const plan = planCapacity({
      cores: 8,
      memoryMb: 16384,
      dbMaxConnections: 200,
      hosts: 2,
      replicaMaxConnections: 50,
    });
    // 2 hosts x (8 + 1 during reload) = 18 processes
    expect(plan.dbPoolMax.value).to.equal(10);
    expect(plan.dbReadPoolMax.value).to.equal(Math.floor((50 - 5) / 18));
    expect(planCapacity({ cores: 8, memoryMb: 16384, dbMaxConnections: 200, hosts: 2 }).dbReadPoolMax.value).to.equal(
      10,
    );
  });

  it('when a replica cannot give every process a connection, then the plan says so', () => {
    const plan = planCapacity({
      cores: 8,
      memoryMb: 16384,
      dbMaxConnections: 200,
      hosts: 2,
      replicaMaxConnections: 20,
    });
    expect(plan.problems.some((problem) => problem.includes('DB_REPLICA_MAX_CONNECTIONS=20'))).to.equal(true);
  });
});
