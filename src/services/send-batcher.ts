// Group commit for sends. Sends that arrive while a batch is being stored wait in a queue; the next batch takes up
// to `maxBatch` of them and stores them as one transaction: the send locks of its conversations (ascending, so
// batches from several processes cannot deadlock), one statement for every message (seq per conversation, in
// arrival order), one commit, the announcements appended to the stream in one pipeline in seq order, then the
// locks go. Per message, the round trips, the commit's WAL flush and the pooled connection are shared by the batch.
// Each send still has its own outcome: a non-member, a used clientMsgId or a failing send fails only itself. A
// retry that finds its message stored announces it again (its first announcement may have died with a process).
import type { Database } from '../db/database.js';
import { advisoryKey, isUniqueViolation } from '../db/database.js';
import type { Message } from '../contract/messages.js';
import { findByClientMsgId, insertBatch } from '../db/messages.repository.js';
import { isMember } from '../db/conversations.repository.js';
import { notFound, overloaded, validationFailed } from '../core/errors.js';
import { unclaimableAttachments } from '../db/attachments.repository.js';
import type { Broadcaster } from './broadcaster.js';

export interface SendInput {
  senderId: string;
  conversationId: string;
  body: string;
  clientMsgId: string;
  /** The sender's own unattached uploads to attach (docs/attachments.md). */
  attachmentIds?: readonly string[];
}

export interface SendOutcome {
  message: Message;
  created: boolean;
}

export interface SendBatchSettings {
  /** Most sends stored by one transaction. */
  maxBatch: number;
  /** Batches of this process being stored at once (each holds one pooled connection). */
  maxInFlight: number;
  /** How long a send that finds the batcher idle waits for company; 0: until the current tick's I/O is read. */
  waitMs: number;
  /** Sends that may wait for a batch; more are refused as overloaded. */
  maxQueued: number;
  /** Offline notifications are on: each stored message also gets its notification_outbox row, in the same statement. */
  notificationOutbox?: boolean;
}

/** Seconds a refused send should wait: a backlog this deep drains in about that. */
const QUEUE_FULL_RETRY_AFTER_SEC = 1;

interface Pending {
  input: SendInput;
  resolve(outcome: SendOutcome): void;
  reject(error: unknown): void;
  /** Set once the send went back into the queue after its membership changed under it. */
  requeued?: boolean;
}

/**
 * Advisory-lock namespace for "sending into conversation <id>". Edits and deletions take it too
 * (message-changes.ts), so `message:updated` is announced after the `message:new` it changes, in change order.
 */
export const SEND_LOCK = 7301;

/** What storeTogether returns when its statement did not fail (a thrown value may be anything, even undefined). */
const NO_FAILURE = Symbol('no failure');

/** A sender's clientMsgId: what makes a send idempotent. */
const sendKey = ({ senderId, clientMsgId }: { senderId: string; clientMsgId: string }) =>
  `${senderId}\u0000${clientMsgId}`;

export class SendBatcher {
  private queue: Pending[] = [];
  private inFlight = 0;
  private scheduled = false;

  constructor(
    private readonly db: Database,
    private readonly broadcaster: Broadcaster,
    private readonly settings: SendBatchSettings,
    private readonly onBatch: (size: number) => void,
  ) {}

  submit(input: SendInput): Promise<SendOutcome> {
    if (this.queue.length >= this.settings.maxQueued) {
      return Promise.reject(
        overloaded(QUEUE_FULL_RETRY_AFTER_SEC, 'Too many messages are waiting to be stored; retry shortly'),
      );
    }
    return new Promise<SendOutcome>((resolve, reject) => {
      this.queue.push({ input, resolve, reject });
      this.schedule();
    });
  }

  private schedule(): void {
    if (this.scheduled || this.queue.length === 0 || this.inFlight >= this.settings.maxInFlight) return;
    this.scheduled = true;
    const flush = () => {
      this.scheduled = false;
      this.flush();
    };
    // setImmediate runs after the I/O callbacks of this loop turn: every send read from the sockets by then joins.
    if (this.settings.waitMs > 0 && this.queue.length < this.settings.maxBatch) setTimeout(flush, this.settings.waitMs);
    else setImmediate(flush);
  }

  private flush(): void {
    while (this.queue.length > 0 && this.inFlight < this.settings.maxInFlight) {
      const batch = this.take();
      this.inFlight += 1;
      void this.store(batch).finally(() => {
        this.inFlight -= 1;
        this.schedule();
      });
    }
  }

  /**
   * The oldest sends, at most maxBatch. A send repeating a (sender, clientMsgId) already in the batch waits for the
   * next one, where it meets the stored message exactly as a retry would; so does a send naming an attachment
   * another send of the batch names (the batch statement would give it to both), and finds it claimed.
   */
  private take(): Pending[] {
    const batch: Pending[] = [];
    const repeats: Pending[] = [];
    const keys = new Set<string>();
    // Stops once the batch is full: a backlog behind a slow database is not walked for every batch.
    let next = 0;
    for (; next < this.queue.length && batch.length < this.settings.maxBatch; next++) {
      const pending = this.queue[next]!;
      const sendKeys = [sendKey(pending.input), ...(pending.input.attachmentIds ?? []).map((id) => `attachment:${id}`)];
      if (sendKeys.some((key) => keys.has(key))) repeats.push(pending);
      else {
        for (const key of sendKeys) keys.add(key);
        batch.push(pending);
      }
    }
    this.queue = [...repeats, ...this.queue.slice(next)];
    return batch;
  }

  private async store(batch: Pending[]): Promise<void> {
    this.onBatch(batch.length);
    const valid = batch.filter((pending) => {
      try {
        advisoryKey(pending.input.conversationId);
        return true;
      } catch {
        pending.reject(notFound('Conversation'));
        return false;
      }
    });
    if (valid.length === 0) return;
    const failure = await this.storeTogether(valid);
    if (failure === NO_FAILURE) return;
    // Each send on its own after the batch's locks are gone: the culprit fails (or finds its duplicate) alone.
    // One after another, so seqs still follow arrival order and the pool is not flooded; this path is rare.
    if (valid.length > 1) {
      for (const pending of valid) await this.storeAlone(pending);
      return;
    }
    await this.settleFailedAlone(valid[0]!, failure);
  }

  private async storeAlone(pending: Pending): Promise<void> {
    const failure = await this.storeTogether([pending]);
    if (failure !== NO_FAILURE) await this.settleFailedAlone(pending, failure);
  }

  /**
   * A single send whose statement failed: a unique violation means the sender's clientMsgId was committed
   * meanwhile (by another process, possibly in another conversation), and that message is the answer.
   */
  private async settleFailedAlone(pending: Pending, failure: unknown): Promise<void> {
    if (!isUniqueViolation(failure)) return pending.reject(failure);
    try {
      const stored = await findByClientMsgId(this.db.primary, pending.input.senderId, pending.input.clientMsgId);
      if (!stored) throw new Error('unique violation on send but no stored message found');
      await this.announceAgain([{ pending, message: stored }]);
    } catch (error) {
      pending.reject(error);
    }
  }

  /**
   * Stores the sends as one transaction under their conversations' locks and settles each of them; returns the
   * statement's error instead when it failed as a whole (nothing stored, nobody settled), else NO_FAILURE.
   */
  private async storeTogether(valid: Pending[]): Promise<unknown> {
    let failure: unknown = NO_FAILURE;
    try {
      await this.db.withSessionLocks(
        SEND_LOCK,
        valid.map((pending) => pending.input.conversationId),
        async (client) => {
          let stored: Message[];
          try {
            stored = await insertBatch(
              client,
              valid.map((pending) => pending.input),
              { outbox: this.settings.notificationOutbox },
            );
          } catch (error) {
            // Nothing was stored (one statement). Typically a clientMsgId committed meanwhile by another process.
            failure = error;
            return;
          }
          const byKey = new Map(stored.map((message) => [sendKey(message), message]));
          // Stored whatever happens next; a failed announcement is caught up by sync.
          await Promise.resolve(this.broadcaster.messagesCreated(stored)).catch(() => undefined);
          const missed: Pending[] = [];
          for (const pending of valid) {
            const message = byKey.get(sendKey(pending.input));
            if (message) pending.resolve({ message, created: true });
            else missed.push(pending);
          }
          // Nothing stored means not a member, a used clientMsgId or attachments that cannot be claimed; find out
          // which, still under the locks.
          const repeated: Array<{ pending: Pending; message: Message }> = [];
          for (const pending of missed) {
            const message = await this.explainMiss(client, pending);
            if (message) repeated.push({ pending, message });
          }
          await this.announceAgain(repeated);
        },
      );
    } catch (error) {
      // Lock, unlock or connection trouble: whoever is still waiting fails with it (a settled promise ignores it).
      for (const pending of valid) pending.reject(error);
    }
    return failure;
  }

  /**
   * The stored message a retried send names. For any other miss the send is rejected, or queued again once when
   * its sender became a member meanwhile; either way nothing is returned.
   */
  private async explainMiss(client: Parameters<typeof isMember>[0], pending: Pending): Promise<Message | undefined> {
    try {
      const { conversationId, senderId, clientMsgId } = pending.input;
      if (!(await isMember(client, conversationId, senderId))) throw notFound('Conversation');
      const existing = await findByClientMsgId(client, senderId, clientMsgId);
      if (existing) return existing;
      const unclaimable = await unclaimableAttachments(client, senderId, pending.input.attachmentIds ?? []);
      if (unclaimable.length > 0) {
        throw validationFailed('attachmentIds must name your own uploads that are not attached to a message yet', {
          attachmentIds: unclaimable,
        });
      }
      // The sender was not a member when the batch statement ran and is one again now (removed and added back in
      // between: the soak benchmark found it, answered 500). Their send gets another go, once; it runs after this
      // batch, so its seq still follows what was stored before it.
      if (pending.requeued) throw notFound('Conversation');
      pending.requeued = true;
      this.queue.unshift(pending);
      return undefined;
    } catch (error) {
      pending.reject(error);
      return undefined;
    }
  }

  /**
   * A retry finds its message stored: the process that stored it may have died between the commit and the
   * announcement (the client never got its ack, so it retried), and then nobody was told. Announce it again before
   * answering; members that saw it already drop the copy by id.
   */
  private async announceAgain(repeated: ReadonlyArray<{ pending: Pending; message: Message }>): Promise<void> {
    // A clientMsgId used in another conversation is a conflict (the service says so), not a retry: not announced.
    const inSeqOrder = repeated
      .filter(({ pending, message }) => message.conversationId === pending.input.conversationId)
      .map(({ message }) => message)
      .sort((a, b) =>
        a.conversationId === b.conversationId ? a.seq - b.seq : a.conversationId < b.conversationId ? -1 : 1,
      );
    if (inSeqOrder.length > 0)
      await Promise.resolve(this.broadcaster.messagesCreated(inSeqOrder)).catch(() => undefined);
    for (const { pending, message } of repeated) pending.resolve({ message, created: false });
  }
}
