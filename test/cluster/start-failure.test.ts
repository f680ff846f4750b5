// A worker that cannot start must say why and must not restart in a loop: config errors exit with EX_CONFIG (78),
// which the ecosystem file lists in stop_exit_codes.
import { expect } from 'chai';
import { sleep, startCluster, type Cluster } from './support/cluster.js';

describe('PM2 cluster: start failures', () => {
  let cluster: Cluster | undefined;

  after(async () => {
    await cluster?.stop();
  });

  it('when the production environment is invalid, then the workers exit with the reason logged and no restart loop', async () => {
    cluster = await startCluster({ JWT_SECRET: 'too-short' }, { expectOnline: false });
    const processes = await cluster.processesUntil((list) => list.every((p) => p.exitCode === 78), 20_000);
    expect(
      processes.map((p) => p.exitCode),
      cluster.daemonLog().slice(-1500),
    ).to.deep.equal([78, 78]);
    // Past the first backoff delays (200 ms, then 300 ms...), a loop would have restarted them by now. PM2 7 shows
    // such a process as "waiting restart" when exp_backoff_restart_delay is set, yet schedules no restart.
    await sleep(3000);
    expect((await cluster.processes()).map((p) => [p.pid, p.restarts])).to.deep.equal([
      [0, 0],
      [0, 0],
    ]);
    expect(cluster.errorLog()).to.include('JWT_SECRET: must be at least 32 characters in production');
  });
});
