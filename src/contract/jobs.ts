// Background jobs and offline notifications (docs/API.md, Background jobs and notifications; docs/jobs.md).
import type { Message } from './messages.js';

export type JobStatus = 'queued' | 'running' | 'done' | 'failed';

/** POST /api/conversations/:id/exports and GET /api/jobs/:id answer `{job}`. */
export interface Job {
  id: string;
  kind: 'export';
  status: JobStatus;
  /** Where the finished file is, once done. */
  url?: string;
  error?: string;
}

/**
 * The webhook's body: `message` is the latest; `messages` every one of the batch, oldest first.
 */
export interface OfflineNotification {
  type: 'message.offline';
  deliveryId: string;
  userId: string;
  message: Message;
  messages: Message[];
}
