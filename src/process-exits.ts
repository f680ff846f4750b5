// How a Parley process (the API's main.ts, the jobs app's jobs/main.ts) ends when it cannot go on: the exit codes
// the runbook lists (docs/runbook.md), written once.
import { ConfigError, loadConfig, type Config } from './config.js';
import type { Logger } from './core/logger.js';

/** EX_CONFIG (sysexits.h): the settings are wrong; PM2 restarting the process will not help. */
export const EX_CONFIG = 78;

/** The settings, or every problem with them on stderr and exit 78. */
export function loadConfigOrExit(): Config {
  try {
    return loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`${error.message}\n`);
      process.exit(EX_CONFIG);
    }
    throw error;
  }
}

/**
 * After an uncaught exception the process state is unknown: log it and exit, and PM2 starts a fresh process
 * (min_uptime, max_restarts and exp_backoff_restart_delay in ecosystem.config.js keep a crash loop in check).
 * Nothing acked is lost: a request is answered only after its transaction commits.
 */
export function exitOnCrash(log: Logger): void {
  process.on('uncaughtException', (error) => {
    log.fatal({ err: error }, 'uncaught exception; exiting');
    process.exit(1);
  });
  process.on('unhandledRejection', (reason) => {
    log.fatal({ err: reason }, 'unhandled rejection; exiting');
    process.exit(1);
  });
}
