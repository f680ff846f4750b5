// Process entry (what PM2 runs): config -> build -> listen and signals -> ready. It owns the exit codes:
// 1 a crash or dependencies not ready at start, 70 a split socket.io cluster, 78 a bad configuration.
import { buildApp, type Parley } from './app.js';
import { createLogger, type Logger } from './core/logger.js';
import { exitOnCrash, loadConfigOrExit } from './process-exits.js';
import { MemoryGuard } from './ops/memory-guard.js';
import { aggregates, serveInstanceMetrics } from './ops/metrics-cluster.js';
import { startPm2Metrics } from './ops/pm2-metrics.js';
import { createShutdown } from './ops/shutdown.js';
import { listenInstancePort } from './http/instance-port.js';

async function main(): Promise<void> {
  const config = loadConfigOrExit();
  const log = createLogger({
    level: config.logLevel,
    instanceId: config.instanceId,
    pretty: config.env === 'development' && process.stdout.isTTY === true,
    ...config.log,
  });
  exitOnCrash(log);

  const parley = await buildApp(config, log);
  exitIfClusterSplit(parley, log);
  const { server, lifecycle } = parley;
  await new Promise<void>((resolve) => server.listen(config.port, config.host, resolve));
  // Under PM2, this instance's own metrics port, so a scrape of any instance can answer for all of them.
  const instanceMetrics = aggregates(config.metrics)
    ? serveInstanceMetrics(parley.metrics.registry, config.metrics, log.child({ module: 'metrics' }))
    : undefined;
  const instancePort = config.http.instancePort;
  const extraListeners =
    instancePort === undefined ? [] : [await listenInstancePort(server, instancePort, config.host)];
  // Created as the server starts listening, so requests already in flight at shutdown are counted.
  const shutdown = createShutdown({
    server,
    extraListeners,
    log,
    deadlineMs: config.shutdownTimeoutMs,
    startDraining: () => {
      parley.startDraining();
      // Hands the port to the worker replacing this one during a reload.
      void instanceMetrics?.close();
    },
    closeResources: () => parley.close(),
    handlersIdle: () => parley.requestHandlers.idle(),
    exit: (code) => exitAfterLogs(log, code),
  });
  // `pm2 reload` and `pm2 stop` send SIGINT (even with shutdown_with_message); Windows and some setups send the
  // `shutdown` message instead; container runtimes send SIGTERM.
  process.on('SIGINT', () => void shutdown('SIGINT'));
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('message', (message) => {
    if (message === 'shutdown') void shutdown('shutdown message');
  });
  const guard = new MemoryGuard(
    config.memory,
    log.child({ module: 'memory' }),
    (reason) => void shutdown(reason),
  ).start();
  lifecycle.own('memory guard', () => guard.stop());
  parley.health.addProbe('memoryGuard', () => guard.report());
  const stopPm2Metrics = startPm2Metrics(server, parley.health);
  lifecycle.own('metrics', () => stopPm2Metrics());

  // wait_ready: PM2 (and a rolling reload) routes traffic here only after this, so the database and Redis must
  // answer first; otherwise exit and let PM2 retry with backoff.
  const { ready, checks } = await parley.health.ready();
  if (!ready) {
    log.fatal({ checks }, 'dependencies not ready at start; exiting');
    await parley.close();
    process.exit(1);
  }
  log.info({ port: config.port, instancePort, env: config.env, memory: guard.marksMb() }, 'parley listening');
  process.send?.('ready');
}

/** SOCKET_ADAPTER=cluster with no relaying primary would lose deliveries silently: better a loud exit PM2 reports. */
function exitIfClusterSplit(parley: Parley, log: Logger): void {
  parley.realtime.clusterJoined?.then(
    (servers) => log.info({ servers }, 'socket.io cluster adapter sees every worker'),
    (error: Error) => {
      log.fatal({ err: error }, 'socket.io cluster is split; exiting');
      process.exit(70);
    },
  );
}

/**
 * Under PM2 the last lines (e.g. "shutdown complete") travel through the daemon's log pipes after we write them;
 * exiting on the same tick lost one now and then in the reload test. A short pause fits within kill_timeout.
 */
const LOG_FLUSH_MS = 100;
function exitAfterLogs(log: Logger, code: number): void {
  log.flush();
  setTimeout(() => process.exit(code), LOG_FLUSH_MS);
}

main().catch((error: unknown) => {
  process.stderr.write(`parley failed to start: ${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});
