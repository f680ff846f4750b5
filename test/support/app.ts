// Starts a real Parley (built exactly as main.ts builds it, socket.io included) on a random port, in this process.
import type http from 'node:http';
import type { AddressInfo } from 'node:net';
import { buildApp, type Parley } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import { createLogger } from '../../src/core/logger.js';
import { testEnv } from './services.js';

export interface TestApp {
  url: string;
  parley: Parley;
  server: http.Server;
  close(): Promise<void>;
}

export async function startTestApp(overrides: Record<string, string> = {}): Promise<TestApp> {
  const config = loadConfig(testEnv(overrides));
  const log = createLogger({ level: config.logLevel, instanceId: config.instanceId, pretty: false });
  const parley = await buildApp(config, log);
  const { server } = parley;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    parley,
    server,
    async close() {
      server.closeAllConnections();
      // socket.io's close (in parley.close) closes the server too; it may be closed already.
      await Promise.all([new Promise<void>((resolve) => server.close(() => resolve())), parley.close()]);
    },
  };
}

/**
 * The frame most suites share: one in-process app started before the suite and closed after it. Returns the app
 * itself; its fields can be read from the suite's own hooks and tests on.
 */
export function useTestApp(overrides: Record<string, string> = {}): TestApp {
  let app: TestApp | undefined;
  before(async () => {
    app = await startTestApp(overrides);
  });
  after(() => app?.close());
  const started = (): TestApp => {
    if (!app) throw new Error('useTestApp: the app is read before its suite started');
    return app;
  };
  return {
    get url() {
      return started().url;
    },
    get parley() {
      return started().parley;
    },
    get server() {
      return started().server;
    },
    close: () => started().close(),
  };
}
