// The app's memory guard under real PM2: a test-only leak preloaded into the workers (test/fixtures/faults/
// leak-memory.mjs; the app has no leak switch) grows RSS; the guard must drain and exit before PM2's 30-second
// max_memory_restart check or the V8 heap limit act, and PM2 must start a fresh worker.
import { pathToFileURL } from 'node:url';
import { expect } from 'chai';
import { startCluster, type Cluster } from './support/cluster.js';

const LEAK = pathToFileURL(new URL('../fixtures/faults/leak-memory.mjs', import.meta.url).pathname).href;

describe('PM2 cluster: memory guard', () => {
  let cluster: Cluster;

  before(async () => {
    // MEMORY_LIMIT_MB shrinks the plan so the marks are reachable in seconds: (800 - 256 reserve) / 2 instances =
    // 272 MB per instance, the guard restarting at 85% of it (231 MB), PM2's backstop at 272 MB, heap at 312 MB.
    cluster = await startCluster({
      MEMORY_LIMIT_MB: '800',
      NODE_OPTIONS: `--import ${LEAK}`,
      PARLEY_TEST_LEAK_MB_PER_SEC: '25',
      // Between the guard's restart mark (231 MB) and PM2's backstop (272 MB).
      PARLEY_TEST_LEAK_UNTIL_RSS_MB: '250',
      MEMORY_CHECK_INTERVAL_MS: '500',
    });
  });

  after(async () => {
    await cluster?.stop();
  });

  it('when a worker leaks past the restart mark, then the guard logs it, drains, exits and PM2 restarts it', async () => {
    const first = await cluster.processes();
    const restartedIn = (list: typeof first) =>
      list.filter((p) => p.restarts > 0 && !first.some((f) => f.pid === p.pid) && p.status === 'online');
    const restarted = restartedIn(await cluster.processesUntil((list) => restartedIn(list).length > 0, 60_000));
    expect(restarted, 'a worker was restarted').to.not.deep.equal([]);

    const lines = cluster
      .outLog()
      .split('\n')
      .filter(Boolean)
      .map(
        (line) =>
          JSON.parse(line) as {
            pid: number;
            msg: string;
            reason?: string;
            memory?: { rssMb: number };
            restartMb?: number;
          },
      );
    const guardLine = lines.find(
      (line) => line.msg === 'memory guard: RSS above the restart mark; draining for a graceful restart',
    );
    expect(guardLine, 'the guard logged why it restarted').to.not.equal(undefined);
    expect(guardLine!.restartMb).to.equal(231);
    expect(guardLine!.memory!.rssMb).to.be.at.least(231).and.below(272);
    expect(
      lines.some(
        (line) => line.pid === guardLine!.pid && line.msg === 'shutdown complete' && line.reason === 'memory guard',
      ),
    ).to.equal(true);

    // Neither backstop had to act: no max_memory_restart kill by PM2, no heap abort.
    const daemonLog = cluster.daemonLog();
    expect(daemonLog).to.not.match(/max-memory-restart|max_memory_restart/i);
    expect(daemonLog).to.not.match(/SIGABRT/);
  });
});
