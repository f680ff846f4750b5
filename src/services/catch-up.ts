// What `sync` answers: the messages after each cursor, the changes (edits, deletions) after a changes token, and
// the unread counts of the conversations named, all read from one snapshot of the primary. One snapshot matters:
// the token handed back says "every change up to these counters is in what you have", which is only true when
// the counters and the messages were read at the same instant; and the primary, because catch-up must not miss
// what was just acknowledged.
import type { SyncAnswer } from '../contract/events.js';
import type { Message } from '../contract/messages.js';
import { notFound } from '../core/errors.js';
import type { Database } from '../db/database.js';
import { changeCountersOf, listChangesSince } from '../db/message-changes.repository.js';
import { listAfterCursors } from '../db/messages.repository.js';
import { unreadCountsOf } from '../db/conversations.repository.js';
import type { ChangeCounters, ChangesTokens } from './changes-token.js';

export interface SyncRequest {
  cursors: Record<string, number>;
  /** Omitted the first time: the answer then has no changes, only the token to start from. */
  changesSince?: string;
}

export class CatchUp {
  constructor(
    private readonly db: Database,
    private readonly tokens: ChangesTokens,
    private readonly pageSize: number,
    /** Bytes of messages and changes per answer (SYNC_MAX_BYTES); messages first, changes from what is left. */
    private readonly maxBytes: number,
  ) {}

  /** not_found unless the user is a member of every conversation named (a non-member learns nothing). */
  async checkMember(userId: string, conversationIds: string[]): Promise<void> {
    if (conversationIds.length === 0) return;
    const counts = await unreadCountsOf(this.db.primary, userId, conversationIds);
    if (counts.size !== new Set(conversationIds).size) throw notFound('Conversation');
  }

  async sync(userId: string, request: SyncRequest): Promise<SyncAnswer> {
    // Read before the snapshot: a bad token is a 400 without touching the database.
    const since = request.changesSince === undefined ? undefined : this.tokens.read(userId, request.changesSince);
    const wanted = Object.entries(request.cursors).map(([conversationId, after]) => ({ conversationId, after }));
    return this.db.withTransaction(async (tx) => {
      await tx.query('SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY');
      const unread = await unreadCountsOf(
        tx,
        userId,
        wanted.map((cursor) => cursor.conversationId),
      );
      if (unread.size !== wanted.length) throw notFound('Conversation');
      const found = wanted.length > 0 ? await listAfterCursors(tx, userId, wanted, this.pageSize + 1) : [];
      // Cut at the page size and at the byte budget: the tail goes, so each conversation's messages stay gap-free
      // up to what was sent and the client's cursors move to exactly there.
      const budget = { left: this.maxBytes };
      const messages = withinBudget(found.slice(0, this.pageSize), (message) => message, budget, 1);
      const counters = await changeCountersOf(tx, userId);
      let changes: Message[] = [];
      let next: ChangeCounters = counters;
      let changesCut = false;
      if (since) {
        const changed = await listChangesSince(tx, userId, since, this.pageSize + 1);
        const page = withinBudget(changed.slice(0, this.pageSize), (entry) => entry.message, budget, 0);
        changesCut = page.length < changed.length;
        changes = page.map((entry) => entry.message);
        if (changesCut) next = page.length > 0 ? countersAfterCut(since, counters, page[page.length - 1]!) : since;
      }
      return {
        messages,
        changes,
        changesToken: this.tokens.issue(userId, next),
        unread: Object.fromEntries(unread),
        more: found.length > messages.length || changesCut,
      };
    });
  }
}

/** The first items whose JSON fits in what is left of the budget (at least `atLeast` of them), taken from it. */
function withinBudget<T>(items: T[], messageOf: (item: T) => Message, budget: { left: number }, atLeast: number): T[] {
  let count = 0;
  for (const item of items) {
    const bytes = Buffer.byteLength(JSON.stringify(messageOf(item)));
    if (bytes > budget.left && count >= atLeast) break;
    budget.left -= bytes;
    count++;
  }
  return items.slice(0, count);
}

/**
 * The token after a page of changes cut inside conversation `last`: conversations ordered before it were
 * delivered up to their counters, `last` up to its last change delivered, those after it not at all.
 */
function countersAfterCut(
  since: ChangeCounters,
  counters: ChangeCounters,
  last: { message: Message; changeSeq: number },
): ChangeCounters {
  const cut = BigInt(last.message.conversationId);
  const next: ChangeCounters = new Map();
  for (const [conversationId, counter] of counters) {
    const id = BigInt(conversationId);
    const seen = id < cut ? counter : id === cut ? last.changeSeq : (since.get(conversationId) ?? 0);
    if (seen > 0) next.set(conversationId, seen);
  }
  return next;
}
