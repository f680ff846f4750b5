import { expect } from 'chai';
import os from 'node:os';
import { ConfigError, loadConfig } from '../../src/config.js';
import { workerThreadsPerInstance } from '../../src/capacity/plan.js';

describe('config: worker pool settings', () => {
  it('when nothing is set, then the pool follows the capacity plan for one instance and the documented defaults', () => {
    const { cpu } = loadConfig({});
    expect(cpu).to.deep.equal({
      maxThreads: workerThreadsPerInstance(os.availableParallelism(), 1),
      maxQueue: 16,
      idleTimeoutMs: 30_000,
      maxOldGenerationSizeMb: 128,
      closeTimeoutMs: 1_000,
      niceIncrement: 10,
      passwordHashing: 'pool',
      exportPageSize: 1_000,
      // Half the queue: password hashing keeps the other half.
      exportMaxConcurrent: 8,
    });
  });

  it('when INSTANCE_COUNT is set, then threads shrink so that instances x threads fit the cores', () => {
    const cores = os.availableParallelism();
    expect(loadConfig({ INSTANCE_COUNT: String(cores) }).cpu.maxThreads).to.equal(1);
    expect(loadConfig({ INSTANCE_COUNT: String(cores * 4) }).cpu.maxThreads).to.equal(1);
  });

  it('when PISCINA_MAX_THREADS is set, then it overrides the plan', () => {
    expect(loadConfig({ PISCINA_MAX_THREADS: '7', INSTANCE_COUNT: '4' }).cpu.maxThreads).to.equal(7);
  });

  it('when a value is out of range or unknown, then loading fails naming the variable', () => {
    for (const [name, value] of [
      ['PISCINA_MAX_THREADS', '0'],
      ['PISCINA_WORKER_NICE', '20'],
      ['PASSWORD_HASHING', 'sometimes'],
      ['PISCINA_MAX_QUEUE', '-1'],
      ['EXPORT_PAGE_SIZE', '0'],
    ] as const) {
      expect(() => loadConfig({ [name]: value }), name)
        .to.throw(ConfigError)
        .with.property('message')
        .that.includes(name);
    }
  });
});
