// What the client knows: conversations, the messages it holds of each, presence, typing, and the high-water mark
// it syncs from. Every message, whichever way it came (ack, message:new, sync, history), goes through accept(),
// which keeps one copy per seq, so a message delivered twice is shown once and the list stays in seq order.
import type { Conversation, ConversationSummary, Member } from '../contract/conversations.js';
import type { Message } from '../contract/messages.js';
import type { Presence } from '../contract/presence.js';
import type { User } from '../contract/users.js';

export interface ConversationState {
  conversation: Conversation;
  /** Messages held, by seq. */
  messages: Map<number, Message>;
  /** Every message up to this seq has been seen (held, or counted in the list's snapshot): sync's cursor. */
  seenSeq: number;
  /** Lowest seq held; older pages load above it. */
  oldestSeq?: number;
  historyLoaded: boolean;
  unread: number;
  lastMessage?: Message;
  /** userId -> when the indicator lapses (a lost isTyping:false must not leave it on). */
  typing: Map<string, number>;
}

export type Change =
  | { kind: 'list' }
  | { kind: 'conversation'; id: string }
  | { kind: 'messages'; id: string }
  | { kind: 'typing'; id: string }
  | { kind: 'reads'; id: string }
  | { kind: 'presence' };

const TYPING_LAPSE_MS = 6_000;

/** A conversation as any answer or event carries it; the list's answers add unread and lastMessage. */
type Incoming = Conversation & Partial<Pick<ConversationSummary, 'unread' | 'lastMessage'>>;

export class ChatStore {
  me?: User;
  readonly conversations = new Map<string, ConversationState>();
  readonly presence = new Map<string, Presence>();
  /** The v2 list cursor for the next page, when the server pages. */
  nextPage?: string;
  openId?: string;
  private readonly listeners = new Set<(change: Change) => void>();

  subscribe(listener: (change: Change) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  emit(change: Change): void {
    for (const listener of this.listeners) listener(change);
  }

  reset(): void {
    this.me = undefined;
    this.conversations.clear();
    this.presence.clear();
    this.nextPage = undefined;
    this.openId = undefined;
    this.emit({ kind: 'list' });
  }

  /** Adds or refreshes a conversation from the server's view; the messages already held stay. */
  upsert(conversation: Incoming): ConversationState {
    const known = this.conversations.get(conversation.id);
    if (known) {
      known.conversation = { ...known.conversation, ...conversation };
      if (conversation.unread !== undefined && !this.isOpen(conversation.id)) known.unread = conversation.unread;
      if (conversation.lastMessage && (known.lastMessage?.seq ?? 0) < conversation.lastMessage.seq)
        known.lastMessage = conversation.lastMessage;
      this.emit({ kind: 'conversation', id: conversation.id });
      return known;
    }
    const state: ConversationState = {
      conversation,
      messages: new Map(),
      seenSeq: conversation.lastSeq,
      historyLoaded: false,
      unread: conversation.unread ?? 0,
      lastMessage: conversation.lastMessage,
      typing: new Map(),
    };
    this.conversations.set(conversation.id, state);
    this.emit({ kind: 'list' });
    return state;
  }

  /** The full list from the server: conversations missing from it are ones the user was removed from. */
  replaceAll(conversations: Incoming[], complete: boolean): void {
    const ids = new Set(conversations.map((conversation) => conversation.id));
    for (const conversation of conversations) this.upsert(conversation);
    if (complete) for (const id of [...this.conversations.keys()]) if (!ids.has(id)) this.remove(id);
    this.emit({ kind: 'list' });
  }

  remove(id: string): void {
    if (!this.conversations.delete(id)) return;
    if (this.openId === id) this.openId = undefined;
    this.emit({ kind: 'list' });
    this.emit({ kind: 'conversation', id });
  }

  isOpen(id: string): boolean {
    return this.openId === id && document.visibilityState === 'visible';
  }

  /**
   * Takes a message from anywhere. Answers whether it was new; `missing` when it shows that earlier seqs were
   * skipped (the caller syncs that conversation).
   */
  accept(message: Message): { fresh: boolean; missing: boolean; knownConversation: boolean } {
    const state = this.conversations.get(message.conversationId);
    if (!state) return { fresh: false, missing: false, knownConversation: false };
    const held = state.messages.get(message.seq);
    if (held && sameVersion(held, message)) return { fresh: false, missing: false, knownConversation: true };
    state.messages.set(message.seq, message);
    state.oldestSeq = Math.min(state.oldestSeq ?? message.seq, message.seq);
    const isNew = !held && message.seq > state.seenSeq;
    if (isNew && message.seq === state.seenSeq + 1) {
      state.seenSeq = message.seq;
      while (state.messages.has(state.seenSeq + 1)) state.seenSeq += 1;
    }
    if (isNew && message.senderId !== this.me?.id && !this.isOpen(message.conversationId)) state.unread += 1;
    if (!state.lastMessage || state.lastMessage.seq <= message.seq) state.lastMessage = message;
    state.conversation.lastSeq = Math.max(state.conversation.lastSeq, message.seq);
    state.typing.delete(message.senderId);
    this.emit({ kind: 'messages', id: message.conversationId });
    this.emit({ kind: 'list' });
    return { fresh: !held, missing: message.seq > state.seenSeq, knownConversation: true };
  }

  /** A history page: older messages held below the lowest seq, and whether any remain above seq 1. */
  acceptHistory(id: string, page: Message[]): void {
    const state = this.conversations.get(id);
    if (!state) return;
    for (const message of page) this.accept(message);
    state.historyLoaded = true;
    if (page.length === 0 && state.oldestSeq === undefined) state.oldestSeq = state.seenSeq + 1;
    this.emit({ kind: 'messages', id });
  }

  hasOlder(id: string): boolean {
    const state = this.conversations.get(id);
    return !!state && (state.oldestSeq ?? state.seenSeq + 1) > 1 && state.conversation.lastSeq > 0;
  }

  read(conversationId: string, userId: string, seq: number): void {
    const member = this.member(conversationId, userId);
    if (!member || member.lastReadSeq >= seq) return;
    member.lastReadSeq = seq;
    this.emit({ kind: 'reads', id: conversationId });
  }

  member(conversationId: string, userId: string): Member | undefined {
    return this.conversations.get(conversationId)?.conversation.members.find((member) => member.id === userId);
  }

  typing(conversationId: string, userId: string, isTyping: boolean): void {
    const state = this.conversations.get(conversationId);
    if (!state) return;
    if (isTyping) state.typing.set(userId, Date.now() + TYPING_LAPSE_MS);
    else state.typing.delete(userId);
    this.emit({ kind: 'typing', id: conversationId });
  }

  /** Drops lapsed typing indicators; called on a timer. */
  lapseTyping(): void {
    const now = Date.now();
    for (const [id, state] of this.conversations) {
      let changed = false;
      for (const [userId, until] of state.typing) if (until <= now) changed = state.typing.delete(userId) || changed;
      if (changed) this.emit({ kind: 'typing', id });
    }
  }

  setPresence(userId: string, presence: Presence): void {
    this.presence.set(userId, presence);
    this.emit({ kind: 'presence' });
  }

  /** Sync cursors: the highest seq up to which nothing is missing, per conversation. */
  cursors(): Record<string, number> {
    return Object.fromEntries([...this.conversations].map(([id, state]) => [id, state.seenSeq]));
  }

  /** Members of every conversation but the user, for presence look-ups. */
  contacts(): string[] {
    const ids = new Set<string>();
    for (const state of this.conversations.values())
      for (const member of state.conversation.members) ids.add(member.id);
    if (this.me) ids.delete(this.me.id);
    return [...ids];
  }

  /** What the list shows as a conversation's name: the group title, or the other member of a direct one. */
  titleOf(conversation: Conversation): string {
    if (conversation.kind === 'group') return conversation.title ?? 'Group';
    const other = conversation.members.find((member) => member.id !== this.me?.id);
    return other ? nameOf(other) : 'Just you';
  }

  sorted(): ConversationState[] {
    const activity = (state: ConversationState) => state.lastMessage?.createdAt ?? state.conversation.createdAt;
    return [...this.conversations.values()].sort((a, b) => activity(b).localeCompare(activity(a)));
  }
}

export const nameOf = (user: Pick<User, 'displayName' | 'username'>): string => user.displayName || user.username;

/** An edit or deletion (v2) replaces the held copy; the same version again is a duplicate. */
function sameVersion(a: Message, b: Message): boolean {
  return (a.editedAt ?? null) === (b.editedAt ?? null) && (a.deletedAt ?? null) === (b.deletedAt ?? null);
}
