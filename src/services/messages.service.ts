// Sending (idempotent on the sender's clientMsgId), history pages, read cursors. Catch-up is catch-up.ts, edits
// and deletions message-changes.ts. History reads come from the hot-history cache when it can answer, else from a
// replica that has the reader's own writes, else from the primary (read-your-writes.ts).
import type { Database } from '../db/database.js';
import * as messages from '../db/messages.repository.js';
import { advanceReadCursor } from '../db/conversations.repository.js';
import { conflict, notFound } from '../core/errors.js';
import type { Broadcaster } from './broadcaster.js';
import type { HistoryCache } from './history-cache.js';
import type { ReadYourWrites } from './read-your-writes.js';
import { SendBatcher, type SendBatchSettings, type SendInput, type SendOutcome } from './send-batcher.js';

export interface HistoryPage {
  before?: number;
  after?: number;
  limit: number;
}

export class MessagesService {
  private readonly batcher: SendBatcher;

  constructor(
    private readonly db: Database,
    private readonly broadcaster: Broadcaster,
    batching: SendBatchSettings,
    onBatch: (size: number) => void,
    private readonly cache?: HistoryCache,
    private readonly fences?: ReadYourWrites,
  ) {
    this.batcher = new SendBatcher(db, broadcaster, batching, onBatch);
  }

  /**
   * Stores the message, then announces it; REST and socket sends alike. Concurrent sends are stored together
   * (see SendBatcher). Sending the same clientMsgId again returns the stored message (`created: false`) and
   * announces nothing; a clientMsgId the sender used in another conversation is a conflict.
   */
  async send(input: SendInput): Promise<SendOutcome> {
    const outcome = await this.batcher.submit(input);
    const { message } = outcome;
    if (message.conversationId !== input.conversationId) {
      throw conflict('clientMsgId was already used for a message in another conversation');
    }
    // This process's cache has the message before the sender hears back; the others get it from the adapter.
    if (outcome.created) this.cache?.messageCreated(message);
    await this.fences?.wrote(input.senderId, { conversationId: message.conversationId, seq: message.seq });
    return outcome;
  }

  /**
   * A history page as JSON text (see historyPageJson): from the cache when it holds the page and the reader's own
   * last send, else from a replica that has replayed the reader's last write, else from the primary.
   */
  async historyJson(userId: string, conversationId: string, page: HistoryPage): Promise<string> {
    const fence = await this.fences?.fenceOf(userId, conversationId);
    if (this.cache) {
      let cached = this.cache.page(userId, conversationId, page, fence);
      if (cached === undefined && this.cache.shouldLoad(conversationId, page)) {
        await this.cache.ensureLoaded(conversationId);
        cached = this.cache.page(userId, conversationId, page, fence);
      }
      if (cached !== undefined) return cached;
    }
    const json = await this.db.read(fence?.lsn, (db) =>
      messages.historyPageJson(db, { ...page, conversationId, userId }),
    );
    if (json === undefined) throw notFound('Conversation');
    return json;
  }

  async markRead(userId: string, conversationId: string, seq: number): Promise<number> {
    const cursor = await advanceReadCursor(this.db.primary, conversationId, userId, seq);
    if (cursor === undefined) throw notFound('Conversation');
    await this.fences?.wrote(userId);
    this.broadcaster.readAdvanced(conversationId, userId, cursor);
    return cursor;
  }
}
