import { expect } from 'chai';
import { pino } from 'pino';
import { effectiveMarks } from '../../src/capacity/plan.js';
import { MemoryGuard, type MemoryReading } from '../../src/ops/memory-guard.js';

const silent = pino({ level: 'silent' });
const options = { warnMb: 100, restartMb: 200, checkIntervalMs: 1000, monitoring: false, logIntervalMs: 60_000 };

describe('memory guard', () => {
  it('when RSS crosses the warning mark, then it warns; above the restart mark it asks for a restart once', () => {
    let reading: MemoryReading = { rssMb: 50, heapUsedMb: 20, heapLimitMb: 4096 };
    const restarts: string[] = [];
    const guard = new MemoryGuard(
      options,
      silent,
      (reason) => restarts.push(reason),
      () => reading,
    );
    expect(guard.check()).to.equal('ok');
    reading = { ...reading, rssMb: 150 };
    expect(guard.check()).to.equal('warning');
    reading = { ...reading, rssMb: 250 };
    expect(guard.check()).to.equal('restarting');
    expect(guard.check()).to.equal('restarting');
    expect(restarts).to.deep.equal(['memory guard']);
    expect(guard.report()).to.include({ state: 'restarting', rssMb: 250 });
  });

  it('when the restart mark sits above the V8 heap limit, then it is lowered below it', () => {
    expect(effectiveMarks(100, 200, 4096)).to.deep.equal({ warnMb: 100, restartMb: 200, lowered: false });
    const lowered = effectiveMarks(900, 1000, 500);
    expect(lowered.restartMb).to.equal(450);
    expect(lowered.warnMb).to.be.below(lowered.restartMb);
    expect(lowered.lowered).to.equal(true);
  });
});
