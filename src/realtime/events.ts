// The socket.io contract as the server types it: what clients send (checked by realtime/schemas.ts, so `unknown`
// here), what the server sends (contract/events.ts), what servers tell each other, and what each socket carries.
// `Server<ClientToServer, ServerToClient, InterServer, SocketData>` everywhere.
import type { Server, Socket } from 'socket.io';
import type { AckReply } from '../contract/errors.js';
import type { ServerToClient, SyncAnswer } from '../contract/events.js';
import type { Message } from '../contract/messages.js';

/** Every ack: success with a payload, or the contract's error shape. */
export type Ack<T extends object = object> = (reply: AckReply<T>) => void;

export interface ClientToServer {
  'message:send': (payload: unknown, ack?: Ack<{ message: Message }>) => void;
  'message:edit': (payload: unknown, ack?: Ack<{ message: Message }>) => void;
  'message:delete': (payload: unknown, ack?: Ack) => void;
  sync: (payload: unknown, ack?: Ack<SyncAnswer>) => void;
  typing: (payload: unknown, ack?: Ack) => void;
  read: (payload: unknown, ack?: Ack<{ seq: number }>) => void;
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
