// Shapes of what clients send over HTTP (and, for messages, over sockets too).
import { z } from 'zod';

const MAX_BIGINT = 9223372036854775807n;

/** Text that reaches PostgreSQL, which refuses NUL in text values: refused here as a 400, not later as a 500. */
// eslint-disable-next-line no-control-regex -- NUL is exactly what this refuses (PostgreSQL text cannot hold it).
const text = () => z.string().regex(/^[^\u0000]*$/, 'must not contain NUL characters');

const idStringSchema = z
  .string()
  .refine((value) => /^[1-9]\d{0,18}$/.test(value) && BigInt(value) <= MAX_BIGINT, 'must be a positive integer id');

/** A positive bigint id as a string (numbers are accepted and turned into strings). */
export const idSchema = z.union([z.string(), z.number().int()]).transform(String).pipe(idStringSchema);

export const isValidId = (value: string): boolean => idStringSchema.safeParse(value).success;

export const usernameSchema = z.string().regex(/^[a-z0-9_.-]{3,32}$/, 'must be 3-32 characters of a-z, 0-9, _ . -');

export const registerSchema = z.object({
  username: usernameSchema,
  password: z.string().min(8, 'must be at least 8 characters').max(200, 'must be at most 200 characters'),
  displayName: text().trim().min(1).max(64).optional(),
});

export const loginSchema = z.object({ username: text().min(1).max(64), password: z.string().min(1).max(200) });

export const refreshSchema = z.object({ refreshToken: z.string().min(1).max(200) });

export const userSearchSchema = z.object({ q: text().max(32).default('') });

export const MAX_GROUP_MEMBERS = 500;

export const createConversationSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('direct'), userId: idSchema }),
  z.object({
    kind: z.literal('group'),
    title: text().trim().min(1).max(100),
    memberIds: z.array(idSchema).max(MAX_GROUP_MEMBERS).default([]),
  }),
]);

export const addMemberSchema = z.object({ userId: idSchema });

export const memberRoleSchema = z.object({ role: z.enum(['owner', 'admin', 'member']) });

export const MESSAGE_BODY_MAX = 4000;

export const messageBodySchema = text()
  .min(1, 'must not be empty')
  .max(MESSAGE_BODY_MAX, `must be at most ${MESSAGE_BODY_MAX} characters`);
export const clientMsgIdSchema = text().min(1).max(100);

/** At most this many attachments per message (API.md, Attachments). */
export const ATTACHMENTS_PER_MESSAGE_MAX = 10;

export const attachmentIdsSchema = z
  .array(idSchema)
  .max(ATTACHMENTS_PER_MESSAGE_MAX, `at most ${ATTACHMENTS_PER_MESSAGE_MAX} attachments per message`)
  .refine((ids) => new Set(ids).size === ids.length, 'must not name an attachment twice');

/** A send: a body, attachments, or both (a message with attachments may have an empty body). */
export const withMessageContent = <
  T extends z.ZodObject<{ body: z.ZodType<string>; attachmentIds: z.ZodOptional<typeof attachmentIdsSchema> }>,
>(
  schema: T,
) =>
  schema.refine((input) => input.body.length > 0 || (input.attachmentIds?.length ?? 0) > 0, {
    message: 'must not be empty',
    path: ['body'],
  });

const sendBodySchema = text().max(MESSAGE_BODY_MAX, `must be at most ${MESSAGE_BODY_MAX} characters`).default('');

export const sendMessageSchema = withMessageContent(
  z.object({ body: sendBodySchema, clientMsgId: clientMsgIdSchema, attachmentIds: attachmentIdsSchema.optional() }),
);

export const socketSendFields = {
  body: sendBodySchema,
  clientMsgId: clientMsgIdSchema,
  attachmentIds: attachmentIdsSchema.optional(),
};

const seqSchema = z.coerce.number().int().min(0).max(Number.MAX_SAFE_INTEGER);

export const HISTORY_DEFAULT_LIMIT = 50;
export const HISTORY_MAX_LIMIT = 500;

export const historyQuerySchema = z
  .object({
    before: seqSchema.optional(),
    after: seqSchema.optional(),
    limit: z.coerce.number().int().min(1).max(HISTORY_MAX_LIMIT).default(HISTORY_DEFAULT_LIMIT),
  })
  .refine((query) => query.before === undefined || query.after === undefined, {
    message: 'use either before or after, not both',
    path: ['after'],
  });

export const readSchema = z.object({ seq: seqSchema });

export const presenceQuerySchema = z.object({
  userIds: z
    .string()
    .min(1)
    .transform((value) => value.split(',').map((id) => id.trim()))
    .pipe(z.array(idStringSchema).min(1).max(200)),
});

// Editing, paged lists, search (limits from config: CONVERSATIONS_PAGE_MAX, SEARCH_QUERY_MAX_CHARS, SEARCH_PAGE_MAX).
export const editMessageSchema = z.object({ body: messageBodySchema });

/** A message's seq in a path: a positive integer, else the message does not exist. */
export const isValidSeq = (value: string): boolean =>
  /^[1-9]\d{0,15}$/.test(value) && Number(value) <= Number.MAX_SAFE_INTEGER;

const cursorSchema = z.string().min(1).max(200);

export const CONVERSATIONS_DEFAULT_LIMIT = 50;

export const conversationListQuerySchema = (maxLimit: number) =>
  z.object({
    limit: z.coerce.number().int().min(1).max(maxLimit).default(Math.min(CONVERSATIONS_DEFAULT_LIMIT, maxLimit)),
    before: cursorSchema.optional(),
  });

export const SEARCH_DEFAULT_LIMIT = 20;

export const searchQuerySchema = (limits: { maxChars: number; maxLimit: number }) =>
  z.object({
    q: text().trim().min(1, 'must not be empty').max(limits.maxChars, `must be at most ${limits.maxChars} characters`),
    conversationId: idSchema.optional(),
    limit: z.coerce.number().int().min(1).max(limits.maxLimit).default(Math.min(SEARCH_DEFAULT_LIMIT, limits.maxLimit)),
    before: cursorSchema.optional(),
  });
