// Runs export jobs: the conversation as gzip'd NDJSON (the streaming export's own pages, services/export.service.ts)
// written to a file under EXPORTS_DIR, renamed into place only when complete; and deletes files past EXPORT_TTL.
import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { UnrecoverableError, type Job } from 'bullmq';
import { AppError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import type { Database } from '../db/database.js';
import * as jobs from '../db/jobs.repository.js';
import type { ConversationExportService } from '../services/export.service.js';
import type { ExportJob } from './queues.js';

export interface ExportSettings {
  dir: string;
  ttlMs: number;
  maxAttempts: number;
}

export function exportProcessor(
  db: Database,
  exporter: ConversationExportService,
  settings: ExportSettings,
  log: Logger,
) {
  return async (job: Job<ExportJob>): Promise<'done' | 'gone'> => {
    const row = await jobs.startJob(db.primary, job.data.jobId);
    if (!row) return 'gone';
    const dir = path.resolve(settings.dir);
    await mkdir(dir, { recursive: true });
    // Unguessable and never reused, so a file from an earlier attempt or job is never served for this one.
    const name = `export-${row.id}-${randomBytes(8).toString('hex')}.ndjson.gz`;
    const partial = path.join(dir, `${name}.partial`);
    try {
      const stream = await exporter.open(row.userId, row.conversationId!);
      await pipeline(stream, createWriteStream(partial, { flags: 'wx' }));
      await rename(partial, path.join(dir, name));
      await jobs.finishJob(db.primary, row.id, path.join(dir, name), settings.ttlMs);
      return 'done';
    } catch (error) {
      await rm(partial, { force: true });
      // Not a member any more: no attempt will change that.
      const final =
        (error instanceof AppError && error.code === 'not_found') || job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
      if (final) {
        const message = error instanceof AppError ? error.message : 'The export failed';
        await jobs.failJob(db.primary, row.id, message, settings.ttlMs);
        log.warn({ err: error, jobId: row.id }, 'export failed');
        throw new UnrecoverableError(message);
      }
      throw error;
    }
  };
}

/** Deletes files and rows of jobs past EXPORT_TTL; the file first, so a row never outlives the file unnoticed. */
export async function sweepExpiredExports(db: Database, log: Logger, batch = 100): Promise<number> {
  let swept = 0;
  for (;;) {
    const expired = await jobs.expiredJobs(db.primary, batch);
    if (expired.length === 0) return swept;
    for (const { filePath } of expired) if (filePath) await rm(filePath, { force: true });
    await jobs.deleteJobs(
      db.primary,
      expired.map((job) => job.id),
    );
    swept += expired.length;
    log.info({ jobs: expired.length }, 'expired exports deleted');
    if (expired.length < batch) return swept;
  }
}
