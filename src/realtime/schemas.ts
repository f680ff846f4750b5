// Shapes of what clients send over the socket; message fields reuse the HTTP schemas so both doors agree.
import { z } from 'zod';
import { idSchema, isValidId, messageBodySchema, socketSendFields, withMessageContent } from '../http/schemas.js';

const seqSchema = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);

/** How many conversations one sync may name; a client with more syncs in several calls. */
export const SYNC_MAX_CONVERSATIONS = 1000;

export const socketSendSchema = withMessageContent(z.object({ conversationId: idSchema, ...socketSendFields }));

export const syncSchema = z.object({
  cursors: z
    .record(z.string().refine(isValidId, 'must be a conversation id'), seqSchema)
    .refine(
      (cursors) => Object.keys(cursors).length <= SYNC_MAX_CONVERSATIONS,
      `at most ${SYNC_MAX_CONVERSATIONS} conversations`,
    ),
  // Opaque; its size is bounded by the socket payload limit (SOCKET_MAX_PAYLOAD_BYTES).
  changesSince: z.string().min(1).optional(),
});

const messageSeqSchema = z.number().int().min(1).max(Number.MAX_SAFE_INTEGER);

export const socketEditSchema = z.object({ conversationId: idSchema, seq: messageSeqSchema, body: messageBodySchema });

export const socketDeleteSchema = z.object({ conversationId: idSchema, seq: messageSeqSchema });

export const typingSchema = z.object({ conversationId: idSchema, isTyping: z.boolean() });

export const socketReadSchema = z.object({ conversationId: idSchema, seq: seqSchema });
