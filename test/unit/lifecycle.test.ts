import { expect } from 'chai';
import { createLogger } from '../../src/core/logger.js';
import { CLOSE_ORDER, Lifecycle } from '../../src/lifecycle.js';

const log = createLogger({ level: 'silent', instanceId: 'test', pretty: false });

describe('lifecycle: one declared close order', () => {
  it('when resources register in any order, then they close in CLOSE_ORDER, and a failing closer does not stop the rest', async () => {
    const lifecycle = new Lifecycle(log);
    const closed: string[] = [];
    for (const stage of [...CLOSE_ORDER].reverse()) {
      lifecycle.own(stage, () => {
        closed.push(stage);
        if (stage === 'worker pool') throw new Error('worker pool would not close');
      });
    }
    await lifecycle.close();
    expect(closed).to.deep.equal([...CLOSE_ORDER]);
  });

  it('when the start fails half way, then what was opened closes in the same order and the error is rethrown', async () => {
    const lifecycle = new Lifecycle(log);
    const closed: string[] = [];
    const failure = await lifecycle
      .starting(async () => {
        lifecycle.own('database', () => void closed.push('database'));
        lifecycle.own('embedded database', () => void closed.push('embedded database'));
        lifecycle.own('realtime', () => void closed.push('realtime'));
        throw new Error('migration failed');
      })
      .catch((error: Error) => error.message);
    expect(failure).to.equal('migration failed');
    expect(closed).to.deep.equal(['realtime', 'database', 'embedded database']);
  });

  it('when close is called twice, then each closer runs once', async () => {
    const lifecycle = new Lifecycle(log);
    let runs = 0;
    lifecycle.own('redis', () => void (runs += 1));
    await Promise.all([lifecycle.close(), lifecycle.close()]);
    expect(runs).to.equal(1);
  });
});
