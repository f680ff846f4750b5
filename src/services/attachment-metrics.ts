// Prometheus series of attachments: uploads and downloads by store and outcome, each store call's latency, and
// the bytes stored (from the database, so every instance reports the same deployment-wide figure).
import { Counter, Histogram, type Registry } from 'prom-client';
import { scrapedGauge } from '../ops/scraped-gauge.js';

export interface AttachmentMetrics {
  uploads: Counter<'store' | 'status'>;
  downloads: Counter<'store' | 'status'>;
  storeSeconds: Histogram<'store' | 'op' | 'outcome'>;
}

export function attachmentMetrics(
  registry: Registry,
  bytesStored: () => Promise<Array<{ store: string; bytes: number }>>,
): AttachmentMetrics {
  scrapedGauge(
    registry,
    {
      name: 'parley_attachment_bytes_stored',
      help: 'Bytes of live attachments, per store (deployment-wide, read from the database at scrape time)',
      labelNames: ['store'],
    },
    async () => (await bytesStored()).map(({ store, bytes }) => [{ store }, bytes] as const),
  );
  return {
    uploads: new Counter({
      name: 'parley_attachment_uploads_total',
      help: 'Attachment uploads by store and HTTP status',
      labelNames: ['store', 'status'] as const,
      registers: [registry],
    }),
    downloads: new Counter({
      name: 'parley_attachment_downloads_total',
      help: 'Attachment and thumbnail downloads by store and HTTP status (302 for a redirect to the store)',
      labelNames: ['store', 'status'] as const,
      registers: [registry],
    }),
    storeSeconds: new Histogram({
      name: 'parley_attachment_store_seconds',
      help: 'Attachment store calls by store, operation and outcome',
      labelNames: ['store', 'op', 'outcome'] as const,
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 15],
      registers: [registry],
    }),
  };
}
