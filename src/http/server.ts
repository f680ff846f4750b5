// The API's HTTP server, not listening (main.ts or a test decides where): Node's timeouts as the settings say.
import http from 'node:http';
import type { Config } from '../config.js';

export function createHttpServer(settings: Config['http'], listener: http.RequestListener): http.Server {
  // Node enforces headersTimeout and requestTimeout only when it sweeps its connections, every 30 s by default:
  // a client dribbling headers (slowloris) kept its connection for up to 40 s with a 10 s headersTimeout.
  const sweepMs = Math.min(1_000, settings.headersTimeoutMs);
  const server = http.createServer({ connectionsCheckingInterval: sweepMs }, listener);
  server.headersTimeout = settings.headersTimeoutMs;
  server.requestTimeout = settings.requestTimeoutMs;
  server.keepAliveTimeout = settings.keepAliveTimeoutMs;
  return server;
}
