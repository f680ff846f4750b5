// The hot-history cache: the latest messages of the conversations this process reads most, with their member
// sets, so the hottest read of a chat server ("the latest page of this conversation") needs no database.
//
// Coherence comes from the events every process already receives through the socket.io adapter, in one order:
// `message:new` appends (only the next seq: a gap drops the conversation), `message:updated` drops it (edits and
// deletes), `conversation:new` / `conversation:removed` drop it (membership). On any doubt (the adapter's
// connection dropped, no event feed at all) the whole cache is cleared and bypassed until the feed is back.
// An entry loads from the primary (never a replica: it must not be older than events already seen), and a load
// during which an event for its conversation arrived is thrown away rather than installed. Every entry is reloaded
// after HISTORY_CACHE_MAX_AGE_MS whatever the events say, which bounds what a lost event could cost.
import { LRUCache } from 'lru-cache';
import type { Message } from '../contract/messages.js';
import type { Fence } from './read-your-writes.js';

export interface HistoryCacheSettings {
  /** Conversations kept (LRU); 0 turns the cache off. */
  conversations: number;
  messagesPerConversation: number;
  maxAgeMs: number;
}

/** What a load returns: the conversation's members and its latest messages, oldest first. */
export interface HistoryWindow {
  memberIds: string[];
  lastSeq: number;
  messages: Message[];
}

export type WindowLoader = (conversationId: string, messages: number) => Promise<HistoryWindow | undefined>;

export interface HistoryPageQuery {
  before?: number;
  after?: number;
  limit: number;
}

interface Entry {
  members: Set<string>;
  /** Each message's JSON, oldest first, seqs firstSeq..lastSeq without a gap. */
  messages: string[];
  firstSeq: number;
  lastSeq: number;
  /** The latest page as sent, per limit; emptied whenever the entry changes. */
  latest: Map<number, string>;
}

export interface HistoryCacheStats {
  enabled: boolean;
  live: boolean;
  conversations: number;
  hits: number;
  misses: number;
  loads: number;
  invalidations: Record<string, number>;
}

export class HistoryCache {
  private readonly entries: LRUCache<string, Entry> | undefined;
  /** Loads in flight, by conversation; `stale` when an event for it arrived meanwhile. */
  private readonly loading = new Map<string, { promise: Promise<void>; stale: boolean }>();
  private live = false;
  private readonly counts = { hits: 0, misses: 0, loads: 0 };
  private readonly invalidations: Record<string, number> = {};

  constructor(
    private readonly settings: HistoryCacheSettings,
    private readonly load: WindowLoader,
  ) {
    if (settings.conversations > 0)
      this.entries = new LRUCache({ max: settings.conversations, ttl: settings.maxAgeMs });
  }

  get enabled(): boolean {
    return this.entries !== undefined;
  }

  /**
   * The event feed's state: nothing is served until a feed says it is live, and everything is dropped when it
   * stops being so (events may have been missed).
   */
  setLive(live: boolean, reason = 'feed down'): void {
    if (!live) this.clear(reason);
    this.live = live;
  }

  clear(reason: string): void {
    if (!this.entries) return;
    if (this.entries.size > 0) this.count(reason);
    this.entries.clear();
    for (const load of this.loading.values()) load.stale = true;
  }

  /**
   * The page from memory, or undefined (not cached, the window does not cover it, the user is not in the cached
   * member set, or the user's own last send here is not in it yet): the caller then reads the database.
   * `fence` is the reader's fence for this conversation (read-your-writes.ts).
   */
  page(userId: string, conversationId: string, query: HistoryPageQuery, fence?: Fence): string | undefined {
    const entry = this.live ? this.entries?.get(conversationId) : undefined;
    const json =
      entry && !fence?.unknown && (fence?.seq ?? 0) <= entry.lastSeq && entry.members.has(userId)
        ? servePage(entry, query)
        : undefined;
    if (json === undefined) this.counts.misses += 1;
    else this.counts.hits += 1;
    return json;
  }

  /** Whether loading this conversation now would let page() answer the query (only latest pages trigger loads). */
  shouldLoad(conversationId: string, query: HistoryPageQuery): boolean {
    return (
      this.live &&
      this.entries !== undefined &&
      query.before === undefined &&
      query.after === undefined &&
      !this.entries.has(conversationId)
    );
  }

  /** Loads the conversation (one load at a time per conversation; concurrent callers share it). */
  ensureLoaded(conversationId: string): Promise<void> {
    const running = this.loading.get(conversationId);
    if (running) return running.promise;
    const state = { promise: Promise.resolve(), stale: false };
    state.promise = this.load(conversationId, this.settings.messagesPerConversation)
      .then((window) => {
        if (window && !state.stale && this.live) this.entries?.set(conversationId, toEntry(window));
        this.counts.loads += 1;
      })
      // A failed load installs nothing: the read goes on to the database, which reports the failure itself.
      .catch(() => undefined)
      .finally(() => this.loading.delete(conversationId));
    this.loading.set(conversationId, state);
    return state.promise;
  }

  /** A stored message, from this process's own send or from the adapter: appended when it is the next seq. */
  messageCreated(message: Message): void {
    const conversationId = message.conversationId;
    this.touchLoad(conversationId);
    const entry = this.entries?.peek(conversationId);
    if (!entry || message.seq <= entry.lastSeq) return; // not cached, or already applied (own send, then its echo)
    if (message.seq !== entry.lastSeq + 1) return this.drop(conversationId, 'seq gap');
    entry.messages.push(JSON.stringify(message));
    entry.lastSeq = message.seq;
    if (entry.messages.length > this.settings.messagesPerConversation) {
      entry.messages.shift();
      entry.firstSeq += 1;
    }
    entry.latest.clear();
  }

  /** An edited or deleted message (`message:updated`): the conversation is reloaded on its next read. */
  messageUpdated(message: Pick<Message, 'conversationId'>): void {
    this.touchLoad(message.conversationId);
    if (this.entries?.has(message.conversationId)) this.drop(message.conversationId, 'message updated');
  }

  /** Someone joined or left: the member set is reloaded on the next read. */
  membershipChanged(conversationId: string): void {
    this.touchLoad(conversationId);
    if (this.entries?.has(conversationId)) this.drop(conversationId, 'membership');
  }

  stats(): HistoryCacheStats {
    return {
      enabled: this.enabled,
      live: this.live,
      conversations: this.entries?.size ?? 0,
      ...this.counts,
      invalidations: { ...this.invalidations },
    };
  }

  private touchLoad(conversationId: string): void {
    const load = this.loading.get(conversationId);
    if (load) load.stale = true;
  }

  private drop(conversationId: string, reason: string): void {
    this.entries?.delete(conversationId);
    this.count(reason);
  }

  private count(reason: string): void {
    this.invalidations[reason] = (this.invalidations[reason] ?? 0) + 1;
  }
}

function toEntry(window: HistoryWindow): Entry {
  const messages = window.messages.map((message) => JSON.stringify(message));
  return {
    members: new Set(window.memberIds),
    messages,
    firstSeq: window.lastSeq - messages.length + 1,
    lastSeq: window.lastSeq,
    latest: new Map(),
  };
}

/** The page when the window holds all of it (a window starting at seq 1 holds the whole conversation). */
function servePage(entry: Entry, query: HistoryPageQuery): string | undefined {
  const { firstSeq, lastSeq, messages } = entry;
  const at = (seq: number) => messages[seq - firstSeq]!;
  if (query.after !== undefined) {
    // Oldest first: seqs after..after+limit.
    if (query.after + 1 < firstSeq && firstSeq > 1) return undefined;
    const from = Math.max(query.after + 1, firstSeq);
    const to = Math.min(query.after + query.limit, lastSeq);
    return from > to ? '[]' : `[${messages.slice(from - firstSeq, to - firstSeq + 1).join(',')}]`;
  }
  // Newest first, below `before` (from the end when absent).
  const latest = query.before === undefined;
  if (latest) {
    const memo = entry.latest.get(query.limit);
    if (memo !== undefined) return memo;
  }
  const top = Math.min((query.before ?? lastSeq + 1) - 1, lastSeq);
  const bottom = Math.max(top - query.limit + 1, 1);
  if (bottom < firstSeq) return undefined;
  const page: string[] = [];
  for (let seq = top; seq >= bottom; seq -= 1) page.push(at(seq));
  const json = `[${page.join(',')}]`;
  if (latest) entry.latest.set(query.limit, json);
  return json;
}
