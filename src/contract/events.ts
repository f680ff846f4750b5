// The socket.io events the server sends, and what `sync` answers (docs/API.md, Socket.io and the v2 additions).
// What clients send is validated by the zod schemas in realtime/schemas.ts, which type it.
import type { Conversation } from './conversations.js';
import type { Message } from './messages.js';
import type { PresenceEvent } from './presence.js';

/** The ack of `sync`. */
export interface SyncAnswer {
  messages: Message[];
  changes: Message[];
  changesToken: string;
  /** Unread messages per conversation named in the cursors (last seq minus the caller's read cursor). */
  unread: Record<string, number>;
  /** Messages or changes were cut at the page size: sync again with the cursors moved and the new token. */
  more: boolean;
}

export interface ServerToClient {
  'message:new': (payload: { message: Message }) => void;
  /** An edit or a deletion (the tombstone), to every member socket. */
  'message:updated': (payload: { message: Message }) => void;
  typing: (payload: { conversationId: string; userId: string; isTyping: boolean }) => void;
  read: (payload: { conversationId: string; userId: string; seq: number }) => void;
  presence: (payload: PresenceEvent) => void;
  'conversation:new': (payload: { conversation: Conversation }) => void;
  'conversation:removed': (payload: { conversationId: string }) => void;
  /** (v2) Members added or removed, or a role changed: the conversation as GET /api/conversations/:id returns it. */
  'conversation:updated': (payload: { conversation: Conversation }) => void;
  /** Sent before this process closes its sockets: reconnect after this delay, not at once with everyone else. */
  'server:draining': (payload: { reconnectInMs: number }) => void;
}
