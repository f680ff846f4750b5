// How services announce what happened, without knowing about socket.io. The realtime layer provides the real
// one (realtime/socket-broadcaster.ts); silentBroadcaster announces nothing (a service built alone in a test).
import type { Conversation } from '../contract/conversations.js';
import type { Message } from '../contract/messages.js';

export interface Broadcaster {
  /**
   * Called after the commit, while the sender still holds the conversations' send locks, with messages in seq
   * order per conversation: once the returned promise settles they are queued for delivery in that order, so
   * announcements follow seq order.
   */
  messagesCreated(messages: readonly Message[]): void | Promise<void>;
  /**
   * An edit or deletion, called after its commit under the conversation's send lock (message-changes.ts), so
   * `message:updated` follows the `message:new` of the same message and change order. The hook for anything that
   * keeps messages (a history cache): every process and host delivers it as `message:updated` {message}.
   */
  messageChanged(message: Message): void | Promise<void>;
  readAdvanced(conversationId: string, userId: string, seq: number): void;
  /** New members get `conversation:new`; everyone already in the room gets `conversation:updated`. */
  membersAdded(conversation: Conversation, userIds: string[]): void;
  /** The removed user gets `conversation:removed`; the remaining members get `conversation:updated` (`conversation`
   * is absent when nobody is left). */
  memberRemoved(conversationId: string, userId: string, conversation?: Conversation): void;
  /** A role change: every member gets `conversation:updated`. */
  conversationChanged(conversation: Conversation): void;
  /** A sign-in (refresh family) ended by logout or revoked after token reuse: its live sockets must go. */
  signedOut(familyId: string): void;
}

export const silentBroadcaster: Broadcaster = {
  messagesCreated: () => undefined,
  messageChanged: () => undefined,
  readAdvanced: () => undefined,
  membersAdded: () => undefined,
  memberRemoved: () => undefined,
  conversationChanged: () => undefined,
  signedOut: () => undefined,
};
