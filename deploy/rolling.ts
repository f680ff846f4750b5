// `npm run deploy:rolling [-- --hosts FILE] [--release ID] [--drain-ms 2000] [--ready-timeout-ms 60000]`:
// every host in turn: drain from nginx, switch release, pm2 reload, wait ready, back in (deploy/DEPLOYMENT.md).
import { readDeployCommand, runCli } from './lib/cli.js';
import { rollHosts } from './lib/rollout.js';

runCli(async () => {
  const { deployment, source, rollout } = readDeployCommand(process.argv.slice(2));
  rollout.log(
    `rolling deploy of ${deployment.hosts.length} hosts from ${source}${rollout.release ? `, release ${rollout.release}` : ''}`,
  );
  const done = await rollHosts(deployment, deployment.hosts, rollout);
  rollout.log(`done: ${done.map((step) => `${step.host} ${step.from} -> ${step.to}`).join(', ')}`);
});
