// Process entry (what PM2 runs): config -> build -> listen -> ready; signals -> shutdown.
import http from 'node:http';
import { buildApp } from './app.js';
import { ConfigError, loadConfig } from './config.js';
import { createLogger } from './core/logger.js';
import { attachRealtime } from './realtime/server.js';

async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`${error.message}\n`);
      process.exit(78); // EX_CONFIG
    }
    throw error;
  }
  const log = createLogger({
    level: config.logLevel,
    instanceId: config.instanceId,
    pretty: config.env === 'development' && process.stdout.isTTY === true,
  });
  process.on('uncaughtException', (error) => {
    log.fatal({ err: error }, 'uncaught exception; exiting');
    process.exit(1);
  });
  process.on('unhandledRejection', (reason) => {
    log.fatal({ err: reason }, 'unhandled rejection; exiting');
    process.exit(1);
  });

  const parley = await buildApp(config, log);
  const server = http.createServer(parley.http.callback());
  server.headersTimeout = config.http.headersTimeoutMs;
  server.requestTimeout = config.http.requestTimeoutMs;
  server.keepAliveTimeout = config.http.keepAliveTimeoutMs;
  await attachRealtime(parley, server);
  await new Promise<void>((resolve) => server.listen(config.port, config.host, resolve));
  log.info({ port: config.port, env: config.env }, 'parley listening');
  process.send?.('ready');

  let stopping = false;
  const shutdown = async (reason: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ reason }, 'shutting down');
    parley.startDraining();
    server.closeIdleConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await parley.close();
    log.info('shutdown complete');
    process.exit(0);
  };
  process.on('SIGINT', () => void shutdown('SIGINT'));
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
}

main().catch((error: unknown) => {
  process.stderr.write(`parley failed to start: ${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});
