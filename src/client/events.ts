// The socket.io contract as a client sees it. Server-to-client events and every shape they carry are the
// contract's (src/contract/); client-to-server payloads are the input types of the zod schemas the server validates
// them with (realtime/schemas.ts), so both sides change together. Type-only: nothing here runs.
import type { z } from 'zod';
import type { AckReply } from '../contract/errors.js';
import type { ServerToClient, SyncAnswer } from '../contract/events.js';
import type { Message } from '../contract/messages.js';
import type {
  socketDeleteSchema,
  socketEditSchema,
  socketReadSchema,
  socketSendSchema,
  syncSchema,
  typingSchema,
} from '../realtime/schemas.js';

export type { Attachment, MessageAttachment } from '../contract/attachments.js';
export type { Conversation, ConversationSummary, Member, MemberRole } from '../contract/conversations.js';
export type { AckReply, ErrorBody, ErrorCode } from '../contract/errors.js';
export type { SyncAnswer } from '../contract/events.js';
export type { Message } from '../contract/messages.js';
export type { Presence, PresenceEvent } from '../contract/presence.js';
export type { SignedIn, Tokens, User } from '../contract/users.js';

export interface ClientToServerEvents {
  'message:send': (
    payload: z.input<typeof socketSendSchema>,
    ack: (reply: AckReply<{ message: Message }>) => void,
  ) => void;
  'message:edit': (
    payload: z.input<typeof socketEditSchema>,
    ack: (reply: AckReply<{ message: Message }>) => void,
  ) => void;
  'message:delete': (payload: z.input<typeof socketDeleteSchema>, ack: (reply: AckReply) => void) => void;
  sync: (payload: z.input<typeof syncSchema>, ack: (reply: AckReply<SyncAnswer>) => void) => void;
  typing: (payload: z.input<typeof typingSchema>, ack?: (reply: AckReply) => void) => void;
  read: (payload: z.input<typeof socketReadSchema>, ack?: (reply: AckReply<{ seq: number }>) => void) => void;
}

export type ServerToClientEvents = ServerToClient;
