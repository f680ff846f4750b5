// Sending (idempotent on the sender's clientMsgId), history pages, read cursors, catch-up after a cursor.
import type { Database } from '../db/database.js';
import { isUniqueViolation } from '../db/database.js';
import * as messages from '../db/messages.repository.js';
import { advanceReadCursor, isMember } from '../db/conversations.repository.js';
import { conflict, notFound } from '../core/errors.js';
import type { Broadcaster } from './broadcaster.js';

type Message = messages.Message;

export interface HistoryPage {
  before?: number;
  after?: number;
  limit: number;
}

export interface SendInput {
  senderId: string;
  conversationId: string;
  body: string;
  clientMsgId: string;
}

export class MessagesService {
  constructor(
    private readonly db: Database,
    private readonly broadcaster: Broadcaster,
  ) {}

  /**
   * Stores the message, then announces it. Sending the same clientMsgId again returns the stored message
   * (`created: false`) and announces nothing.
   */
  async send(input: SendInput): Promise<{ message: Message; created: boolean }> {
    let outcome: { message: Message; created: boolean };
    try {
      outcome = await this.db.withTransaction(async (tx) => {
        if (!(await isMember(tx, input.conversationId, input.senderId))) throw notFound('Conversation');
        const seq = await messages.nextSeq(tx, input.conversationId);
        // Checked after taking the conversation lock, so a concurrent duplicate in this conversation is visible.
        const existing = await messages.findByClientMsgId(tx, input.senderId, input.clientMsgId);
        if (existing) throw new DuplicateSend(existing);
        const message = await messages.insertMessage(tx, { ...input, seq });
        // Your own message is read by you.
        await advanceReadCursor(tx, input.conversationId, input.senderId, seq);
        return { message, created: true };
      });
    } catch (error) {
      // Rolled back, so the seq we took is handed out again: no gap.
      if (error instanceof DuplicateSend) outcome = { message: error.stored, created: false };
      else if (isUniqueViolation(error)) outcome = { message: await this.findDuplicate(input), created: false };
      else throw error;
    }
    if (outcome.message.conversationId !== input.conversationId) {
      throw conflict('clientMsgId was already used for a message in another conversation');
    }
    if (outcome.created) this.broadcaster.messageCreated(outcome.message);
    return outcome;
  }

  /** History pages tolerate replica lag. */
  async history(userId: string, conversationId: string, page: HistoryPage): Promise<Message[]> {
    const reader = this.db.reader();
    if (!(await isMember(reader, conversationId, userId))) throw notFound('Conversation');
    return page.after !== undefined
      ? messages.listAfter(reader, conversationId, page.after, page.limit)
      : messages.listBefore(reader, conversationId, page.before ?? null, page.limit);
  }

  async markRead(userId: string, conversationId: string, seq: number): Promise<number> {
    const cursor = await advanceReadCursor(this.db.primary, conversationId, userId, seq);
    if (cursor === undefined) throw notFound('Conversation');
    this.broadcaster.readAdvanced(conversationId, userId, cursor);
    return cursor;
  }

  private async findDuplicate(input: SendInput): Promise<Message> {
    const stored = await messages.findByClientMsgId(this.db.primary, input.senderId, input.clientMsgId);
    if (!stored) throw new Error('unique violation on send but no stored message found');
    return stored;
  }
}

class DuplicateSend extends Error {
  constructor(readonly stored: Message) {
    super('duplicate send');
  }
}
