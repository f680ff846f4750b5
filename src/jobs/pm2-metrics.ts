// What `pm2 monit` shows for the jobs app (tx2, as the API does in ops/pm2-metrics.ts): the queues' depth, active,
// delayed and failed jobs (both queues together), the rows PostgreSQL still has to deliver, and this process's POSTs.
import tx2 from 'tx2';
import { outboxFigures } from '../db/notifications.repository.js';
import { queueFigures } from './queues.js';
import type { JobsRuntime } from './runtime.js';

const REFRESH_MS = 5_000;

export function startJobsPm2Metrics(runtime: JobsRuntime): () => void {
  const shown = { waiting: 0, active: 0, delayed: 0, failed: 0, pending: 0 };
  const refresh = async () => {
    try {
      const figures = await queueFigures(runtime.queues);
      const both = Object.values(figures);
      for (const state of ['waiting', 'active', 'delayed', 'failed'] as const)
        shown[state] = both.reduce((sum, queue) => sum + queue[state], 0);
      const outbox = await outboxFigures(runtime.db.primary);
      shown.pending = outbox.outbox + outbox.deliveries;
    } catch {
      // Redis or the database is down: keep the last figures; the logs say why.
    }
  };
  void refresh();
  const timer = setInterval(() => void refresh(), REFRESH_MS).unref();
  tx2.metric({ name: 'Queue waiting', value: () => shown.waiting });
  tx2.metric({ name: 'Queue active', value: () => shown.active });
  tx2.metric({ name: 'Queue delayed', value: () => shown.delayed });
  tx2.metric({ name: 'Queue failed', value: () => shown.failed });
  tx2.metric({ name: 'Outbox pending', value: () => shown.pending });
  tx2.metric({ name: 'Webhook POSTs', value: () => runtime.figures().attempts });
  return () => clearInterval(timer);
}
