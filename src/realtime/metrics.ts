// Real-time metrics on the app's registry (/health/metrics) and the `sockets` section of /health.
import { Counter, Histogram, type Registry } from 'prom-client';
import { scrapedGauge } from '../ops/scraped-gauge.js';

export function createRealtimeMetrics(registry: Registry, adapter: string, connectedSockets: () => number) {
  // Registered on the registry and read when scraped; nothing else needs a handle on it.
  scrapedGauge(registry, { name: 'parley_sockets_connected', help: 'Sockets connected to this process' }, () => [
    [{}, connectedSockets()],
  ]);
  const eventsIn = new Counter({
    name: 'parley_socket_events_in_total',
    help: 'Client events received, by event and outcome',
    labelNames: ['event', 'outcome'] as const,
    registers: [registry],
  });
  const eventsOut = new Counter({
    name: 'parley_socket_events_out_total',
    help: 'Events this process emitted (one per emit, whatever the number of receivers)',
    labelNames: ['event'] as const,
    registers: [registry],
  });
  const sendLatency = new Histogram({
    name: 'parley_socket_send_to_broadcast_seconds',
    help: 'From a message:send arriving to its message:new being handed to the adapter',
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1],
    registers: [registry],
  });
  const adapterErrors = new Counter({
    name: 'parley_socket_adapter_errors_total',
    help: 'Errors reported by the socket.io adapter connection',
    labelNames: ['adapter'] as const,
    registers: [registry],
  });
  let inTotal = 0;
  let outTotal = 0;
  let errorsTotal = 0;
  return {
    eventIn(event: string, outcome: 'ok' | 'error' | 'rate_limited') {
      inTotal += 1;
      eventsIn.inc({ event, outcome });
    },
    eventOut(event: string, count = 1) {
      outTotal += count;
      eventsOut.inc({ event }, count);
    },
    sendLatency,
    adapterError() {
      errorsTotal += 1;
      adapterErrors.inc({ adapter });
    },
    /** The /health `sockets` section. */
    snapshot() {
      return {
        adapter,
        connected: connectedSockets(),
        eventsIn: inTotal,
        eventsOut: outTotal,
        adapterErrors: errorsTotal,
      };
    },
  };
}

export type RealtimeMetrics = ReturnType<typeof createRealtimeMetrics>;
