// The composition root registers the worker pool as a resource to close: shutting the app down ends its threads.
import { expect } from 'chai';
import { startTestApp } from '../support/app.js';
import { register } from '../support/client.js';
import { FAULTY } from '../support/fixture-tasks.js';

describe('worker pool shutdown', () => {
  it('when the app closes, then work in flight finishes and the pool has no threads left', async () => {
    const app = await startTestApp();
    await register(app.url);
    expect(app.parley.workerPool.stats().threads).to.be.at.least(1);
    const inFlight = app.parley.workerPool.run(FAULTY.hold, { ms: 200 });
    await app.close();
    expect(await inFlight).to.equal(200);
    expect(app.parley.workerPool.stats().threads).to.equal(0);
  });
});
