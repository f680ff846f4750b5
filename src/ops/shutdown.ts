// The shutdown sequence: one ordered list with a deadline shorter than PM2's kill_timeout (PM2 sends SIGKILL after
// it). Measured: under keep-alive load `server.close()` alone never finished; telling clients `Connection: close`
// and closing idle connections ended it in ~15 ms.
//
//   1. readiness 503 and `Connection: close` on every response (startDraining), a short grace for busy clients
//   2. stop accepting (server.close; in cluster mode the primary stops routing here), close idle keep-alive sockets
//   3. wait for requests in flight, cutting every HTTP connection at the connections deadline
//   3b. let handlers whose connections were cut finish what they started (a transaction, a batch of sends) before
//       the pools they use close under them, up to the handlers deadline
//   4. close resources in the lifecycle's declared order (lifecycle.ts): sockets, worker pool, ..., pools and Redis
//   5. exit
//
// Upgraded (WebSocket) connections keep server.close() from calling back until socket.io closes them in step 4,
// which is why step 3 waits for HTTP requests, not for the server's close callback.
import type http from 'node:http';
import type net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { settledWithin } from '../core/deadline.js';
import type { Logger } from '../core/logger.js';
import { InFlight } from './in-flight.js';

export interface ShutdownDeps {
  server: http.Server;
  /** More ports handing connections to `server` (INSTANCE_PORT_BASE); they stop accepting with it. */
  extraListeners?: net.Server[];
  log: Logger;
  /** The whole sequence must finish within this; kill_timeout is set above it. */
  deadlineMs: number;
  /** Readiness turns 503 and responses carry `Connection: close` (Parley.startDraining). */
  startDraining(): void;
  /** Sockets, worker pool, database pools, Redis: Parley.close, in the lifecycle's order (lifecycle.ts). */
  closeResources(): Promise<void>;
  /** Resolves when no request handler is running (a cut connection does not stop its handler). */
  handlersIdle?(): Promise<void>;
  exit(code: number): void;
}

/**
 * Time for clients busy on keep-alive connections to receive one more response carrying `Connection: close`, so
 * they close the socket themselves instead of racing a request against our close of an "idle" socket.
 */
export const drainGraceMs = (deadlineMs: number): number => Math.min(500, Math.floor(deadlineMs / 8));
/** HTTP connections still open at this point are cut, leaving the rest of the deadline for closing resources. */
export const connectionsDeadlineMs = (deadlineMs: number): number => Math.floor(deadlineMs * 0.6);
/** Handlers still running then get resources closed under them; the rest of the deadline is for closing. */
export const handlersDeadlineMs = (deadlineMs: number): number => Math.floor(deadlineMs * 0.75);

/** Must be created when the server starts, so requests already in flight at shutdown are counted. */
export function createShutdown(deps: ShutdownDeps): (reason: string) => Promise<void> {
  const inFlight = trackRequests(deps.server);
  let started: Promise<void> | undefined;
  return (reason) => (started ??= run(deps, inFlight, reason));
}

function trackRequests(server: http.Server): InFlight {
  const requests = new InFlight();
  server.on('request', (_req: http.IncomingMessage, res: http.ServerResponse) => {
    requests.enter();
    res.once('close', () => requests.leave());
  });
  return requests;
}

async function run(deps: ShutdownDeps, inFlight: InFlight, reason: string): Promise<void> {
  const { server, log } = deps;
  const began = Date.now();
  const elapsed = () => Date.now() - began;
  const remaining = (until: number) => Math.max(0, until - elapsed());
  /** Whether `work` settled before `until` ms into the shutdown. */
  const settledBy = (work: Promise<unknown>, until: number) => settledWithin(work, remaining(until));
  const hardStop = setTimeout(() => {
    log.error({ reason, ms: elapsed() }, 'shutdown deadline passed; exiting with resources still open');
    deps.exit(1);
  }, deps.deadlineMs).unref();
  log.info({ reason, deadlineMs: deps.deadlineMs, inFlight: inFlight.count }, 'shutting down');

  deps.startDraining();
  await sleep(drainGraceMs(deps.deadlineMs));

  const closed = new Promise<void>((resolve) => server.close(() => resolve()));
  for (const listener of deps.extraListeners ?? []) listener.close();
  server.closeIdleConnections();
  const finished = await settledBy(inFlight.idle(), connectionsDeadlineMs(deps.deadlineMs));
  if (!finished)
    log.warn(
      { inFlight: inFlight.count, ms: elapsed() },
      'requests still running at the connections deadline; cutting them',
    );
  server.closeAllConnections();
  log.info({ ms: elapsed() }, 'http requests done');
  if (deps.handlersIdle) {
    const settled = await settledBy(deps.handlersIdle(), handlersDeadlineMs(deps.deadlineMs));
    if (!settled) log.warn({ ms: elapsed() }, 'request handlers still running; closing resources under them');
  }

  try {
    await deps.closeResources();
  } catch (error) {
    log.error({ err: error }, 'closing resources failed');
  }
  // Upgraded connections are closed by now (socket.io's closer); the server's callback follows.
  const serverClosed = await settledBy(closed, deps.deadlineMs - 100);
  if (!serverClosed) log.warn({ ms: elapsed() }, 'server still had open connections after resources closed');
  clearTimeout(hardStop);
  log.info({ reason, ms: elapsed() }, 'shutdown complete');
  deps.exit(0);
}
