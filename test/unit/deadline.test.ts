import { expect } from 'chai';
import { setTimeout as sleep } from 'node:timers/promises';
import { settledWithin, withTimeout } from '../../src/core/deadline.js';

describe('deadline: waiting with a time limit', () => {
  it('when the work finishes in time, then settledWithin is true and withTimeout gives its result', async () => {
    expect(await settledWithin(sleep(5), 1_000)).to.equal(true);
    expect(await withTimeout(sleep(5, 'done'), 1_000, 'too slow')).to.equal('done');
  });

  it('when the time runs out first, then settledWithin is false and withTimeout rejects with the message', async () => {
    expect(await settledWithin(sleep(1_000), 10)).to.equal(false);
    const error = await withTimeout(sleep(1_000), 10, 'too slow').catch((e: Error) => e);
    expect((error as Error).message).to.equal('too slow');
  });

  it('when the work fails in time, then both reject with its error', async () => {
    const failing = () => Promise.reject(new Error('broken'));
    expect(((await settledWithin(failing(), 1_000).catch((e: Error) => e)) as Error).message).to.equal('broken');
    expect(((await withTimeout(failing(), 1_000, 'too slow').catch((e: Error) => e)) as Error).message).to.equal(
      'broken',
    );
  });
});
