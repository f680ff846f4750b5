// `npm run deploy:canary [-- --hosts FILE] --release ID [--canary NAME] [--watch-seconds 60] [--max-error-rate 0.01]`:
// deploys the release to one host (the first, or --canary), watches it (deploy/lib/canary-watch.ts), and on
// failure (not ready, errors, lost or doubled messages) rolls that host back to its previous release and stops; on
// success rolls the rest (deploy/DEPLOYMENT.md).
import { number, readDeployCommand, runCli } from './lib/cli.js';
import { currentRelease } from './lib/pm2-host.js';
import { rollBack, rollHost, rollHosts } from './lib/rollout.js';
import { watchCanary } from './lib/canary-watch.js';

runCli(async () => {
  const { deployment, source, flags, rollout } = readDeployCommand(process.argv.slice(2));
  if (rollout.release === undefined)
    throw new Error('--release ID is required (a canary compares a new release with the running one)');
  const canary = deployment.hosts.find((host) => host.name === (flags.get('canary') ?? deployment.hosts[0]!.name));
  if (!canary) throw new Error(`--canary ${flags.get('canary')}: no such host in ${source}`);
  const other = deployment.hosts.find((host) => host !== canary && host.set === canary.set);
  if (!other) throw new Error(`${canary.name} is the only host of its set: a canary needs another host beside it`);
  const watchMs = number(flags, 'watch-seconds', 60) * 1_000;
  const maxErrorRate = number(flags, 'max-error-rate', 0.01);
  const previous = await currentRelease(canary);

  rollout.log(
    `canary deploy of release ${rollout.release} on ${canary.name} (from ${source}), watching ${watchMs / 1_000} s`,
  );
  let verdict: string[];
  try {
    await rollHost(deployment, canary, rollout);
    const result = await watchCanary(canary, other, { durationMs: watchMs, intervalMs: 200 });
    rollout.log(`${canary.name}: ${result.attempts} probes, error rate ${(result.errorRate * 100).toFixed(1)} %`);
    verdict = [
      ...(result.errorRate > maxErrorRate
        ? [
            `error rate ${(result.errorRate * 100).toFixed(1)} % above ${(maxErrorRate * 100).toFixed(1)} % (first: ${result.failures[0]})`,
          ]
        : []),
      ...result.continuity,
    ];
  } catch (error) {
    // Not ready after the reload, or the watch could not even start: a failure like any other.
    verdict = [(error as Error).message.split('\n')[0]!];
  }
  if (verdict.length > 0) {
    await rollBack(deployment, canary, previous, rollout);
    throw new Error(
      `canary ${canary.name} failed on release ${rollout.release}: ${verdict.join('; ')}. Rolled ${canary.name} back to ${previous}; no other host was touched.`,
    );
  }
  rollout.log(`${canary.name}: canary healthy; rolling the other hosts`);
  const rest = await rollHosts(
    deployment,
    deployment.hosts.filter((host) => host !== canary),
    rollout,
  );
  rollout.log(`done: ${[canary.name, ...rest.map((step) => step.host)].join(', ')} on ${rollout.release}`);
});
