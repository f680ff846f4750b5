// Editing and deleting messages. The sender edits (within the edit window, if one is set); the sender or a group's
// owner or admin deletes. A deleted message stays as a tombstone (`body: ""`, `deletedAt`) so seqs stay gap-free;
// editing it is a conflict (409: the seq exists, it can no longer change), deleting it again changes nothing
// (204). Previous bodies are not kept. Each change is stored and announced under the conversation's send lock.
import type pg from 'pg';
import { AppError, conflict, notFound } from '../core/errors.js';
import type { Database } from '../db/database.js';
import { applyChange, lockForChange, type Change, type ChangeTarget } from '../db/message-changes.repository.js';
import type { Message } from '../contract/messages.js';
import type { Broadcaster } from './broadcaster.js';
import { SEND_LOCK } from './send-batcher.js';

export interface ChangeSettings {
  /** Seconds after sending during which the sender may edit; 0: no limit. */
  editWindowSec: number;
}

export class MessageChanges {
  constructor(
    private readonly db: Database,
    private readonly broadcaster: Broadcaster,
    private readonly settings: ChangeSettings,
  ) {}

  edit(actorId: string, conversationId: string, seq: number, body: string): Promise<Message> {
    return this.change(actorId, conversationId, seq, (target, message) => {
      if (message.senderId !== actorId) throw forbidden('Only the sender edits a message');
      if (message.deletedAt) throw conflict('The message was deleted');
      const window = this.settings.editWindowSec;
      if (window > 0 && target.ageSec > window)
        throw forbidden(`Messages can be edited for ${window} seconds after sending`);
      return { kind: 'edit', body };
    });
  }

  /** Resolves whether or not the message was already deleted. */
  async delete(actorId: string, conversationId: string, seq: number): Promise<void> {
    await this.change(actorId, conversationId, seq, (target, message) => {
      const moderator = target.kind === 'group' && (target.role === 'owner' || target.role === 'admin');
      if (message.senderId !== actorId && !moderator)
        throw forbidden('Only the sender or a group owner or admin deletes a message');
      return message.deletedAt ? undefined : { kind: 'delete' };
    });
  }

  /**
   * Decides under the conversation's row lock (`decide` returns undefined for "nothing to change"), commits, then
   * announces while the send lock is still held.
   */
  private async change(
    actorId: string,
    conversationId: string,
    seq: number,
    decide: (target: ChangeTarget, message: Message) => Change | undefined,
  ): Promise<Message> {
    return this.db.withSessionLocks(SEND_LOCK, [conversationId], async (client) => {
      const { message, changed } = await inTransaction(client, async () => {
        const target = await lockForChange(client, conversationId, seq, actorId);
        if (!target) throw notFound('Conversation');
        if (!target.message) throw notFound('Message');
        const change = decide(target, target.message);
        if (!change) return { message: target.message, changed: false };
        return { message: await applyChange(client, conversationId, seq, change), changed: true };
      });
      // Stored whatever happens next; a client that misses the event gets the change from sync.
      if (changed) await Promise.resolve(this.broadcaster.messageChanged(message)).catch(() => undefined);
      return message;
    });
  }
}

/** A transaction on the connection that holds the session lock (Database.withTransaction would take another one). */
async function inTransaction<T>(client: pg.PoolClient, work: () => Promise<T>): Promise<T> {
  await client.query('BEGIN');
  try {
    const result = await work();
    await client.query('COMMIT');
    return result;
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  }
}

const forbidden = (message: string) => new AppError('forbidden', message);
