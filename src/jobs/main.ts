// Process entry of the jobs app (`parley-jobs` in ecosystem.config.js, fork mode): config -> start -> ready;
// SIGINT/SIGTERM -> finish or hand back the running jobs, then exit. A slow webhook or a long export runs here,
// never on the API's event loop.
import { createLogger } from '../core/logger.js';
import { EX_CONFIG, exitOnCrash, loadConfigOrExit } from '../process-exits.js';
import { MemoryGuard } from '../ops/memory-guard.js';
import { startJobsPm2Metrics } from './pm2-metrics.js';
import { JobsConfigError, startJobs } from './runtime.js';

async function main(): Promise<void> {
  const config = loadConfigOrExit();
  const log = createLogger({
    level: config.logLevel,
    instanceId: `${config.instanceId}:jobs`,
    pretty: false,
    ...config.log,
  });
  exitOnCrash(log);
  let runtime;
  try {
    runtime = await startJobs(config, log);
  } catch (error) {
    if (error instanceof JobsConfigError) {
      process.stderr.write(`Invalid configuration:\n  - ${error.message}\n`);
      process.exit(EX_CONFIG);
    }
    throw error;
  }
  const stopMetrics = startJobsPm2Metrics(runtime);
  // Its own memory marks (the plan's jobs budget, from the ecosystem file): drain and exit before PM2's backstop.
  const guard = new MemoryGuard(config.memory, log.child({ module: 'memory' }), (reason) => void shutdown(reason));
  let stopping = false;
  const shutdown = async (reason: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ reason }, 'jobs app stopping');
    stopMetrics();
    guard.stop();
    await runtime.close(config.shutdownTimeoutMs);
    log.info('jobs app stopped');
    log.flush();
    setTimeout(() => process.exit(0), 100);
  };
  guard.start();
  process.on('SIGINT', () => void shutdown('SIGINT'));
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('message', (message) => {
    if (message === 'shutdown') void shutdown('shutdown message');
  });
  log.info({ notifications: Boolean(config.jobs.notify), concurrency: config.jobs.concurrency }, 'parley jobs running');
  process.send?.('ready');
}

main().catch((error: unknown) => {
  process.stderr.write(`parley jobs failed to start: ${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});
