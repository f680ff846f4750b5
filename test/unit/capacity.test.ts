import { expect } from 'chai';
import { workerThreadsPerInstance } from '../../src/ops/capacity.js';

describe('capacity: workerThreadsPerInstance', () => {
  it('when one instance runs, then it gets a thread per core', () => {
    expect(workerThreadsPerInstance(2, 1)).to.equal(2);
    expect(workerThreadsPerInstance(8, 1)).to.equal(8);
  });

  it('when several instances share the cores, then instances x threads stays within the cores', () => {
    for (const [cores, instances] of [[2, 2], [8, 3], [16, 4], [6, 4]] as const) {
      const threads = workerThreadsPerInstance(cores, instances);
      expect(threads * instances, `${cores} cores, ${instances} instances`).to.be.at.most(cores);
      expect(threads).to.equal(Math.floor(cores / instances));
    }
  });

  it('when there are more instances than cores, then each still gets one thread', () => {
    expect(workerThreadsPerInstance(2, 4)).to.equal(1);
  });

  it('when a count is not a positive integer, then it throws a RangeError', () => {
    expect(() => workerThreadsPerInstance(0, 1)).to.throw(RangeError);
    expect(() => workerThreadsPerInstance(2, 0)).to.throw(RangeError);
    expect(() => workerThreadsPerInstance(2.5, 1)).to.throw(RangeError);
  });
});
