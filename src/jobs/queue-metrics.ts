// The job queues' figures in /metrics: jobs per queue and state (from Redis) and the notification rows PostgreSQL
// still holds (outbox rows not fanned out, deliveries not done, dead letters). Read at scrape time; the same
// figures come from every API instance (labelled by instance_id), as they describe the shared queue.
import type { Registry } from 'prom-client';
import { scrapedGauge } from '../ops/scraped-gauge.js';
import type { Queryable } from '../db/database.js';
import { outboxFigures } from '../db/notifications.repository.js';
import { JOB_STATES, queueFigures, type Queues } from './queues.js';

export function registerQueueMetrics(registry: Registry, queues: Queues, db: Queryable): void {
  // Redis or PostgreSQL unreachable: the series are absent from this scrape rather than the scrape failing.
  scrapedGauge(
    registry,
    {
      name: 'parley_queue_jobs',
      help: 'Jobs in each background queue by state (completed and failed: those BullMQ still keeps)',
      labelNames: ['queue', 'state'],
    },
    async () =>
      Object.entries(await queueFigures(queues)).flatMap(([queue, counts]) =>
        JOB_STATES.map((state) => [{ queue, state }, counts[state]] as const),
      ),
  );
  scrapedGauge(
    registry,
    {
      name: 'parley_notification_rows',
      help: 'Offline-notification rows in PostgreSQL: outbox (not fanned out), deliveries (not done), dead letters',
      labelNames: ['table'],
    },
    async () => {
      const figures = await outboxFigures(db);
      return [
        [{ table: 'outbox' }, figures.outbox],
        [{ table: 'deliveries' }, figures.deliveries],
        [{ table: 'dead_letters' }, figures.deadLetters],
      ] as const;
    },
  );
}
