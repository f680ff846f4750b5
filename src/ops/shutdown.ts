// The shutdown sequence: one ordered list with a deadline shorter than PM2's kill_timeout (PM2 sends SIGKILL after
// it). Measured: under keep-alive load `server.close()` alone never finished; telling clients `Connection: close`
// and closing idle connections ended it in ~15 ms.
import type http from 'node:http';
import type { Logger } from '../core/logger.js';

export interface ShutdownDeps {
  server: http.Server;
  log: Logger;
  /** The whole sequence must finish within this; kill_timeout is set above it. */
  deadlineMs: number;
  /** Readiness turns 503 and responses carry `Connection: close` (Parley.startDraining). */
  startDraining(): void;
  /** Sockets, worker pool, database pools, Redis (Parley.close runs the closers registered with onClose). */
  closeResources(): Promise<void>;
  exit(code: number): void;
}

/**
 * Time for clients busy on keep-alive connections to receive one more response carrying `Connection: close`, so
 * they close the socket themselves instead of racing a request against our close of an "idle" socket.
 */
export const drainGraceMs = (deadlineMs: number): number => Math.min(500, Math.floor(deadlineMs / 8));
/** Connections still open at this point are cut, leaving the rest of the deadline for closing resources. */
export const connectionsDeadlineMs = (deadlineMs: number): number => Math.floor(deadlineMs * 0.6);

export function createShutdown(deps: ShutdownDeps): (reason: string) => Promise<void> {
  let started: Promise<void> | undefined;
  return (reason) => (started ??= run(deps, reason));
}

async function run(deps: ShutdownDeps, reason: string): Promise<void> {
  const { server, log } = deps;
  const began = Date.now();
  const elapsed = () => Date.now() - began;
  const hardStop = setTimeout(() => {
    log.error({ reason, ms: elapsed() }, 'shutdown deadline passed; exiting with resources still open');
    deps.exit(1);
  }, deps.deadlineMs).unref();
  log.info({ reason, deadlineMs: deps.deadlineMs }, 'shutting down');

  deps.startDraining();
  await sleep(drainGraceMs(deps.deadlineMs));

  // Stop accepting (in cluster mode the primary stops routing to this worker), then end idle keep-alive sockets;
  // busy ones close after their response, which carries Connection: close.
  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  server.closeIdleConnections();
  const cut = setTimeout(() => {
    log.warn({ ms: elapsed() }, 'connections still open at the deadline; closing them');
    server.closeAllConnections();
  }, Math.max(0, connectionsDeadlineMs(deps.deadlineMs) - elapsed()));
  await closed;
  clearTimeout(cut);
  log.info({ ms: elapsed() }, 'http server closed');

  try {
    await deps.closeResources();
  } catch (error) {
    log.error({ err: error }, 'closing resources failed');
  }
  clearTimeout(hardStop);
  log.info({ reason, ms: elapsed() }, 'shutdown complete');
  deps.exit(0);
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
