// The socket.io contract as types: what clients send, what the server sends, what servers tell each other, and
// what each socket carries. `Server<ClientToServer, ServerToClient, InterServer, SocketData>` everywhere.
import type { Server, Socket } from 'socket.io';
import type { ErrorBody } from '../core/errors.js';
import type { Conversation } from '../db/conversations.repository.js';
import type { Message } from '../db/messages.repository.js';
import type { SyncAnswer } from '../services/catch-up.js';

/** Every ack: success with a payload, or the contract's error shape. */
export type Ack<T extends object = object> = (reply: ({ ok: true } & T) | ({ ok: false } & ErrorBody)) => void;

export interface ClientToServer {
  'message:send': (payload: unknown, ack?: Ack<{ message: Message }>) => void;
  'message:edit': (payload: unknown, ack?: Ack<{ message: Message }>) => void;
  'message:delete': (payload: unknown, ack?: Ack) => void;
  sync: (payload: unknown, ack?: Ack<SyncAnswer>) => void;
  typing: (payload: unknown, ack?: Ack) => void;
  read: (payload: unknown, ack?: Ack<{ seq: number }>) => void;
}

export interface PresenceEvent {
  userId: string;
  status: 'online' | 'offline';
  lastSeenAt: string | null;
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

/**
 * serverSideEmit events: none yet (the cluster split check counts servers instead); typed so any new one is declared.
 */
export type InterServer = Record<never, never>;

export interface SocketData {
  userId: string;
  /** Seconds since the epoch at which the credential that opened the socket expires. */
  expiresAt: number;
  /** The sign-in (refresh family) the credential belongs to: logging it out closes the socket. */
  familyId?: string;
}

export type ParleyServer = Server<ClientToServer, ServerToClient, InterServer, SocketData>;
export type ParleySocket = Socket<ClientToServer, ServerToClient, InterServer, SocketData>;

export const userRoom = (userId: string): string => `user:${userId}`;
export const conversationRoom = (conversationId: string): string => `conv:${conversationId}`;
export const familyRoom = (familyId: string): string => `family:${familyId}`;
