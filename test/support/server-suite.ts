// The frame every real-time suite shares: server processes started before the suite, clients closed after each
// test, every process killed after the suite.
import { startServer, stopAll, type ServerProcess } from './processes.js';
import { closeAllClients } from './sockets.js';

export interface ServerSuite {
  readonly a: ServerProcess;
  readonly b: ServerProcess;
  /** Replaces the processes (after a restart) so later tests use the new ones. */
  set(a: ServerProcess, b?: ServerProcess): void;
}

export function serverSuite(env: Record<string, string> = {}, count: 1 | 2 = 2): ServerSuite {
  const servers: ServerProcess[] = [];
  before(async () => {
    servers.push(...(await Promise.all(Array.from({ length: count }, () => startServer(env)))));
  });
  afterEach(closeAllClients);
  after(stopAll);
  return {
    get a() {
      return servers[0]!;
    },
    get b() {
      return servers[1]!;
    },
    set(a, b) {
      servers[0] = a;
      if (b) servers[1] = b;
    },
  };
}
