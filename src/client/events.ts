// The socket.io contract as a client sees it. Server-to-client events are the server's own map
// (realtime/events.ts); client-to-server payloads are the input types of the zod schemas the server validates
// them with (realtime/schemas.ts), so both sides change together. Type-only: nothing here runs.
import type { z } from 'zod';
import type { ErrorBody } from '../core/errors.js';
import type { Message } from '../db/messages.repository.js';
import type { ServerToClient } from '../realtime/events.js';
import type { socketReadSchema, socketSendSchema, syncSchema, typingSchema } from '../realtime/schemas.js';

export type { Conversation } from '../db/conversations.repository.js';
export type { User } from '../db/users.repository.js';
export type { Message, ErrorBody };
export type { PresenceEvent } from '../realtime/events.js';

/** What every ack carries: success with a payload, or the contract's error shape. */
export type AckReply<T extends object = object> = ({ ok: true } & T) | ({ ok: false } & ErrorBody);

export interface ClientToServerEvents {
  'message:send': (
    payload: z.input<typeof socketSendSchema>,
    ack: (reply: AckReply<{ message: Message }>) => void,
  ) => void;
  sync: (
    payload: z.input<typeof syncSchema>,
    ack: (reply: AckReply<{ messages: Message[]; more: boolean }>) => void,
  ) => void;
  typing: (payload: z.input<typeof typingSchema>, ack?: (reply: AckReply) => void) => void;
  read: (payload: z.input<typeof socketReadSchema>, ack?: (reply: AckReply<{ seq: number }>) => void) => void;
}

export type ServerToClientEvents = ServerToClient;
