// One Prometheus scrape for every PM2 instance of a host. Under PM2 cluster mode a request to the app's port
// reaches whichever worker PM2 picks, so each worker also listens on its own metrics port (METRICS_PORT_BASE +
// NODE_APP_INSTANCE, loopback by default), and the worker that receives a scrape of /metrics asks every sibling
// for its series over that port and answers with the union. Every series carries `instance_id`, so nothing is
// summed: a sibling that does not answer in time is reported by `parley_metrics_instance_up 0`, not guessed.
import http from 'node:http';
import { AggregatorRegistry, Gauge, Registry, type MetricObjectWithValues, type MetricValue } from 'prom-client';
import type { Logger } from '../core/logger.js';

export interface ClusterMetricsSettings {
  /** This worker's index (NODE_APP_INSTANCE) and how many there are (INSTANCE_COUNT). */
  index: number;
  instances: number;
  host: string;
  /** 0 turns the per-instance ports, and so the aggregation, off. */
  portBase: number;
  timeoutMs: number;
}

const JSON_PATH = '/metrics.json';
type MetricsJson = MetricObjectWithValues<MetricValue<string>>[];

export const instancePort = (settings: ClusterMetricsSettings, index: number): number => settings.portBase + index;
export const aggregates = (settings: ClusterMetricsSettings): boolean =>
  settings.portBase > 0 && settings.instances > 1;

/** The text a scrape of /metrics gets: this process alone, or every instance of the host. */
export function clusterScrape(registry: Registry, settings: ClusterMetricsSettings): () => Promise<string> {
  if (!aggregates(settings)) return () => registry.metrics();
  return async () => {
    const others = Array.from({ length: settings.instances }, (_, index) => index).filter(
      (index) => index !== settings.index,
    );
    const [own, ...replies] = await Promise.all([
      registry.getMetricsAsJSON() as Promise<MetricsJson>,
      ...others.map((index) => fetchJson(settings.host, instancePort(settings, index), settings.timeoutMs)),
    ]);
    const up = new Registry();
    const upGauge = new Gauge({
      name: 'parley_metrics_instance_up',
      help: 'Whether this scrape got the series of the instance on each metrics port (1) or not (0)',
      labelNames: ['instance_index'] as const,
      registers: [up],
    });
    upGauge.set({ instance_index: String(settings.index) }, 1);
    others.forEach((index, i) => upGauge.set({ instance_index: String(index) }, replies[i] ? 1 : 0));
    const all = [
      own!,
      ...replies.filter((reply): reply is MetricsJson => reply !== undefined),
      (await up.getMetricsAsJSON()) as MetricsJson,
    ];
    // Series differ by instance_id, so 'first' keeps each one as it is (prom-client's defaults would drop
    // process_start_time_seconds and average the event-loop figures).
    const union = all.map((metrics) => metrics.map((metric) => ({ ...metric, aggregator: 'first' as const })));
    return AggregatorRegistry.aggregate(union).metrics();
  };
}

function fetchJson(host: string, port: number, timeoutMs: number): Promise<MetricsJson | undefined> {
  return new Promise((resolve) => {
    const req = http.get({ host, port, path: JSON_PATH, agent: false, timeout: timeoutMs }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.on('end', () => {
        try {
          resolve(res.statusCode === 200 ? (JSON.parse(text) as MetricsJson) : undefined);
        } catch {
          resolve(undefined);
        }
      });
      res.on('error', () => resolve(undefined));
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(undefined));
  });
}

export interface InstanceMetricsServer {
  close(): Promise<void>;
}

/**
 * This worker's metrics port: `/metrics` (Prometheus text, this process only, for a per-instance scrape) and
 * `/metrics.json` (for the sibling that aggregates). During `pm2 reload` the old worker of the same index holds
 * the port until it drains, so binding retries until it is free.
 */
export function serveInstanceMetrics(
  registry: Registry,
  settings: ClusterMetricsSettings,
  log: Logger,
): InstanceMetricsServer {
  const port = instancePort(settings, settings.index);
  const server = http.createServer((req, res) => {
    const json = req.url === JSON_PATH;
    if (req.method !== 'GET' || (req.url !== '/metrics' && !json)) {
      res.writeHead(404).end();
      return;
    }
    const body = json ? registry.getMetricsAsJSON().then((metrics) => JSON.stringify(metrics)) : registry.metrics();
    body.then(
      (text) => res.writeHead(200, { 'content-type': json ? 'application/json' : registry.contentType }).end(text),
      (error: unknown) => {
        log.error({ err: error }, 'metrics collection failed');
        res.writeHead(500).end();
      },
    );
  });
  server.keepAliveTimeout = 1_000;
  let closed = false;
  let retry: NodeJS.Timeout | undefined;
  let warned = false;
  const listen = () => server.listen(port, settings.host);
  server.on('error', (error: NodeJS.ErrnoException) => {
    if (closed) return;
    if (error.code !== 'EADDRINUSE') {
      log.error({ err: error, port }, 'metrics port failed; this instance is missing from aggregated scrapes');
      return;
    }
    if (!warned)
      log.info({ port }, 'metrics port busy (the previous worker of this index is still draining); retrying');
    warned = true;
    retry = setTimeout(listen, 250);
    retry.unref();
  });
  server.on('listening', () => log.info({ port, host: settings.host }, 'instance metrics port listening'));
  listen();
  return {
    close() {
      closed = true;
      clearTimeout(retry);
      return new Promise((resolve) => {
        if (!server.listening) return resolve();
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}
