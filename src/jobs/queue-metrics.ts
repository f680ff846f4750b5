// The job queues' figures in /metrics: jobs per queue and state (from Redis) and the notification rows PostgreSQL
// still holds (outbox rows not fanned out, deliveries not done, dead letters). Read at scrape time; the same
// figures come from every API instance (labelled by instance_id), as they describe the shared queue.
import { Gauge, type Registry } from 'prom-client';
import type { Queryable } from '../db/database.js';
import { outboxFigures } from '../db/notifications.repository.js';
import { JOB_STATES, queueFigures, type Queues } from './queues.js';

export function registerQueueMetrics(registry: Registry, queues: Queues, db: Queryable): void {
  new Gauge({
    name: 'parley_queue_jobs',
    help: 'Jobs in each background queue by state (completed and failed: those BullMQ still keeps)',
    labelNames: ['queue', 'state'] as const,
    registers: [registry],
    async collect() {
      this.reset();
      // Redis unreachable: the series are absent from this scrape rather than the scrape failing.
      const figures = await queueFigures(queues).catch(() => undefined);
      for (const [queue, counts] of Object.entries(figures ?? {})) {
        for (const state of JOB_STATES) this.set({ queue, state }, counts[state]);
      }
    },
  });
  new Gauge({
    name: 'parley_notification_rows',
    help: 'Offline-notification rows in PostgreSQL: outbox (not fanned out), deliveries (not done), dead letters',
    labelNames: ['table'] as const,
    registers: [registry],
    async collect() {
      this.reset();
      const figures = await outboxFigures(db).catch(() => undefined);
      if (!figures) return;
      this.set({ table: 'outbox' }, figures.outbox);
      this.set({ table: 'deliveries' }, figures.deliveries);
      this.set({ table: 'dead_letters' }, figures.deadLetters);
    },
  });
}
