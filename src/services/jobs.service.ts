// Jobs a user starts and follows over HTTP (exports for now). The job row in PostgreSQL is the record; putting it
// on the queue is best effort here, because the jobs app's relay queues any job still waiting (src/jobs/relay.ts).
import { stat } from 'node:fs/promises';
import type { Job } from '../contract/jobs.js';
import { AppError, notFound } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import type { Database } from '../db/database.js';
import { isMember } from '../db/conversations.repository.js';
import * as jobs from '../db/jobs.repository.js';

export const jobFileUrl = (jobId: string) => `/api/jobs/${jobId}/file`;

const view = (job: jobs.JobRow): Job => ({
  id: job.id,
  kind: job.kind,
  status: job.status,
  ...(job.status === 'done' ? { url: jobFileUrl(job.id) } : {}),
  ...(job.error ? { error: job.error } : {}),
});

export class JobsService {
  constructor(
    private readonly db: Database,
    private readonly enqueueExport: (jobId: string) => Promise<unknown>,
    private readonly log: Logger,
  ) {}

  /** 404 for a conversation the caller is not in (as everywhere); 409 while their previous export is unfinished. */
  async startExport(userId: string, conversationId: string): Promise<Job> {
    if (!(await isMember(this.db.primary, conversationId, userId))) throw notFound('Conversation');
    const job = await jobs.createExportJob(this.db.primary, userId, conversationId);
    if (!job) {
      const running = await jobs.findRunningExportOf(this.db.primary, userId);
      throw new AppError(
        'conflict',
        'One export at a time: wait for the current one to finish',
        running ? { jobId: running.id } : undefined,
      );
    }
    await this.enqueueExport(job.id).catch((error: unknown) =>
      this.log.warn({ err: error, jobId: job.id }, 'export not queued now; the relay will queue it'),
    );
    return view(job);
  }

  async get(userId: string, jobId: string): Promise<Job> {
    const job = await jobs.findJobOf(this.db.primary, userId, jobId);
    if (!job) throw notFound('Job');
    return view(job);
  }

  /**
   * The finished export's file, for its owner while they are still a member of the conversation (the rule of every
   * conversation route); 404 for anything else, including a file deleted after EXPORT_TTL.
   */
  async exportFile(userId: string, jobId: string): Promise<{ path: string; conversationId: string; size: number }> {
    const job = await jobs.findJobOf(this.db.primary, userId, jobId);
    if (!job || job.status !== 'done' || !job.filePath || !job.conversationId) throw notFound('Job');
    if (!(await isMember(this.db.primary, job.conversationId, userId))) throw notFound('Job');
    const file = await stat(job.filePath).catch(() => undefined);
    if (!file?.isFile()) throw notFound('Job');
    return { path: job.filePath, conversationId: job.conversationId, size: file.size };
  }
}
