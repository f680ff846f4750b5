// The OpenAPI 3.1 description of the HTTP API, served at GET /openapi.json. Request shapes are the zod schemas the
// routes validate with (schemas.ts); response shapes are written here once, as zod too, and the tests check real
// responses against them. @asteasolutions/zod-to-openapi turns both into JSON Schema.
import { OpenAPIRegistry, OpenApiGeneratorV31, type RouteConfig } from '@asteasolutions/zod-to-openapi';
import { z } from 'zod';
import type { ErrorCode } from '../contract/errors.js';
import { ERROR_STATUS } from '../core/errors.js';
import {
  addMemberSchema,
  conversationListQuerySchema,
  createConversationSchema,
  editMessageSchema,
  historyQuerySchema,
  loginSchema,
  memberRoleSchema,
  presenceQuerySchema,
  readSchema,
  refreshSchema,
  registerSchema,
  searchQuerySchema,
  sendMessageSchema,
  userSearchSchema,
} from './schemas.js';

const registry = new OpenAPIRegistry();

// --- Response shapes. Objects are open (extra fields allowed): the API adds fields without breaking clients. ---
const id = z
  .string()
  .regex(/^[1-9]\d*$/)
  .describe('A positive integer id, as a string');
const time = z.iso.datetime({ offset: true }).describe('ISO-8601 time');

export const userSchema = z
  .looseObject({ id, username: z.string(), displayName: z.string(), createdAt: time })
  .meta({ id: 'User' });
export const messageSchema = z
  .looseObject({
    id,
    conversationId: id,
    seq: z.number().int().min(1).describe('Per conversation, from 1, no gaps, in commit order'),
    senderId: id,
    body: z.string(),
    clientMsgId: z.string(),
    createdAt: time,
    editedAt: time.nullable().describe('Null until edited'),
    deletedAt: time.nullable().describe('Null until deleted; a deleted message keeps its seq with body ""'),
    attachments: z
      .array(
        z.looseObject({
          id,
          name: z.string(),
          size: z.number().int().min(1),
          contentType: z.string(),
          url: z.string().describe('GET it with the same credential'),
        }),
      )
      .describe('Empty for most messages and for deleted ones'),
  })
  .meta({ id: 'Message' });
export const attachmentSchema = z
  .looseObject({
    id,
    name: z.string(),
    size: z.number().int().min(1),
    contentType: z.string().describe('Sniffed from the bytes'),
    sha256: z.string().regex(/^[0-9a-f]{64}$/),
    createdAt: time,
  })
  .meta({ id: 'Attachment' });
/** A user as a member of one conversation (contract v2): role and read cursor. */
const memberSchema = userSchema
  .extend({ role: z.enum(['owner', 'admin', 'member']), lastReadSeq: z.number().int().min(0) })
  .meta({ id: 'Member' });
export const conversationSchema = z
  .looseObject({
    id,
    kind: z.enum(['direct', 'group']),
    title: z.string().nullable(),
    createdAt: time,
    lastSeq: z.number().int().min(0),
    members: z.array(memberSchema),
  })
  .meta({ id: 'Conversation' });
const conversationSummarySchema = conversationSchema
  .extend({ lastMessage: messageSchema.optional(), unread: z.number().int().min(0) })
  .meta({ id: 'ConversationSummary' });
export const errorSchema = z
  .object({
    error: z.object({
      code: z.enum(Object.keys(ERROR_STATUS) as [ErrorCode, ...ErrorCode[]]),
      message: z.string().describe('A human sentence'),
      details: z.record(z.string(), z.unknown()).optional(),
    }),
  })
  .meta({ id: 'Error' });
export const authSchema = z.object({ user: userSchema, accessToken: z.string(), refreshToken: z.string() });
export const tokensSchema = z.object({ accessToken: z.string(), refreshToken: z.string() });
const presenceSchema = z.object({
  presence: z.record(id, z.object({ status: z.enum(['online', 'offline']), lastSeenAt: time.nullable() })),
});

const signedIn: Array<Record<string, string[]>> = [{ bearerAuth: [] }, { sessionCookie: [] }];

const ERROR_MEANING: Record<ErrorCode, string> = {
  validation_failed: 'The input is malformed; details.fields names each bad field',
  unauthorized: 'No valid credential',
  forbidden: 'Not allowed for this user',
  not_found: 'Not found, or not visible to the caller',
  conflict: 'Conflicts with existing data',
  payload_too_large:
    'The body is over BODY_LIMIT (uploads: over ATTACHMENT_MAX_BYTES or the ATTACHMENT_QUOTA_MB quota)',
  range_not_satisfiable: 'The Range starts past the end of the attachment',
  rate_limited: 'Over the rate limit; Retry-After says when to try again',
  internal: 'Unexpected failure (no details in production)',
  overloaded: 'The server is busy, or its database unreachable; Retry-After says when to try again',
};
const retryAfter = { 'Retry-After': { description: 'Seconds to wait', schema: { type: 'integer' as const } } };

function errors(...codes: ErrorCode[]): RouteConfig['responses'] {
  return Object.fromEntries(
    [...codes, 'internal' as const].map((code) => [
      ERROR_STATUS[code],
      {
        description: ERROR_MEANING[code],
        ...(code === 'rate_limited' || code === 'overloaded' ? { headers: retryAfter } : {}),
        content: { 'application/json': { schema: errorSchema } },
      },
    ]),
  );
}

const json = (schema: z.ZodType, description: string) => ({ description, content: { 'application/json': { schema } } });
const body = (schema: z.ZodType) => ({ body: { required: true, content: { 'application/json': { schema } } } });
const conversationParams = z.object({ id });

interface Operation {
  method: RouteConfig['method'];
  path: string;
  summary: string;
  tags: string[];
  /** Needs a credential (every /api route but register, login and refresh). */
  auth?: boolean;
  request?: RouteConfig['request'];
  responses: RouteConfig['responses'];
}

function add(op: Operation): void {
  const api = op.path.startsWith('/api/');
  // Every /api route is rate limited (per IP on auth, per user elsewhere) and answers 503 while the database is
  // unreachable; a JSON body can be too large.
  const limits: ErrorCode[] = api ? ['rate_limited', 'overloaded'] : [];
  if (op.request?.body) limits.push('payload_too_large');
  if (op.auth) limits.push('unauthorized');
  const responses = { ...errors(...limits), ...op.responses };
  registry.registerPath({
    method: op.method,
    path: op.path,
    summary: op.summary,
    tags: op.tags,
    ...(op.auth ? { security: signedIn } : { security: [] }),
    ...(op.request ? { request: op.request } : {}),
    responses,
  });
}

// --- Accounts ---
add({
  method: 'post',
  path: '/api/auth/register',
  tags: ['accounts'],
  summary: 'Create an account; also starts a cookie session',
  request: body(registerSchema),
  responses: { 201: json(authSchema, 'Registered'), ...errors('validation_failed', 'conflict', 'overloaded') },
});
add({
  method: 'post',
  path: '/api/auth/login',
  tags: ['accounts'],
  summary: 'Sign in; also starts a cookie session',
  request: body(loginSchema),
  responses: { 200: json(authSchema, 'Signed in'), ...errors('validation_failed', 'unauthorized', 'overloaded') },
});
add({
  method: 'post',
  path: '/api/auth/refresh',
  tags: ['accounts'],
  summary: 'Spend a refresh token for a new pair; a spent one revokes its family',
  request: body(refreshSchema),
  responses: { 200: json(tokensSchema, 'New tokens'), ...errors('validation_failed', 'unauthorized') },
});
add({
  method: 'post',
  path: '/api/auth/logout',
  tags: ['accounts'],
  auth: true,
  summary: 'Revoke the sign-in and destroy the session',
  responses: { 204: { description: 'Signed out' } },
});
add({
  method: 'get',
  path: '/api/me',
  tags: ['accounts'],
  auth: true,
  summary: 'The caller',
  responses: { 200: json(z.object({ user: userSchema }), 'The caller') },
});
add({
  method: 'get',
  path: '/api/users',
  tags: ['accounts'],
  auth: true,
  summary: 'Users whose username starts with q (at most 20)',
  request: { query: userSearchSchema },
  responses: { 200: json(z.object({ users: z.array(userSchema) }), 'Matching users'), ...errors('validation_failed') },
});
add({
  method: 'get',
  path: '/api/presence',
  tags: ['accounts'],
  auth: true,
  summary: 'Online status of users',
  request: { query: presenceQuerySchema },
  responses: { 200: json(presenceSchema, 'Status by user id'), ...errors('validation_failed') },
});

// --- Conversations and messages ---
const conversationBody = z.object({ conversation: conversationSchema });
add({
  method: 'post',
  path: '/api/conversations',
  tags: ['conversations'],
  auth: true,
  summary: 'Open a direct conversation (200 when it exists) or create a group',
  request: body(createConversationSchema),
  responses: {
    200: json(conversationBody, 'The existing direct conversation'),
    201: json(conversationBody, 'Created'),
    ...errors('validation_failed', 'not_found'),
  },
});
add({
  method: 'get',
  path: '/api/conversations',
  tags: ['conversations'],
  auth: true,
  summary: "A page of the caller's conversations, most recent activity first",
  // Documented with the default CONVERSATIONS_PAGE_MAX.
  request: { query: conversationListQuerySchema(200) },
  responses: {
    200: json(
      z.object({
        conversations: z.array(conversationSummarySchema),
        next: z.string().optional().describe('Cursor of the next page; absent on the last'),
      }),
      'Conversations',
    ),
    ...errors('validation_failed'),
  },
});
add({
  method: 'get',
  path: '/api/conversations/{id}',
  tags: ['conversations'],
  auth: true,
  summary: 'One conversation (404 for non-members)',
  request: { params: conversationParams },
  responses: { 200: json(conversationBody, 'The conversation'), ...errors('not_found') },
});
add({
  method: 'post',
  path: '/api/conversations/{id}/members',
  tags: ['conversations'],
  auth: true,
  summary: 'Add a member to a group',
  request: { params: conversationParams, ...body(addMemberSchema) },
  responses: {
    201: json(conversationBody, 'Added'),
    ...errors('validation_failed', 'forbidden', 'not_found', 'conflict'),
  },
});
add({
  method: 'patch',
  path: '/api/conversations/{id}/members/{userId}',
  tags: ['conversations'],
  auth: true,
  summary: "Change a member's role: owners grant or take admin",
  request: { params: z.object({ id, userId: id }), ...body(memberRoleSchema) },
  responses: {
    200: json(conversationBody, 'The conversation with the new role'),
    ...errors('validation_failed', 'forbidden', 'not_found'),
  },
});
add({
  method: 'delete',
  path: '/api/conversations/{id}/members/{userId}',
  tags: ['conversations'],
  auth: true,
  summary: 'Remove a member (or leave)',
  request: { params: z.object({ id, userId: id }) },
  responses: { 204: { description: 'Removed' }, ...errors('forbidden', 'not_found') },
});
add({
  method: 'get',
  path: '/api/conversations/{id}/messages',
  tags: ['messages'],
  auth: true,
  summary: 'History: ?before=seq (newest first) or ?after=seq (oldest first)',
  request: { params: conversationParams, query: historyQuerySchema },
  responses: {
    200: json(z.object({ messages: z.array(messageSchema) }), 'A page of messages'),
    ...errors('validation_failed', 'not_found'),
  },
});
add({
  method: 'post',
  path: '/api/conversations/{id}/messages',
  tags: ['messages'],
  auth: true,
  summary: 'Send; the same clientMsgId again returns the stored message (200)',
  request: { params: conversationParams, ...body(sendMessageSchema) },
  responses: {
    200: json(z.object({ message: messageSchema }), 'Already stored under this clientMsgId'),
    201: json(z.object({ message: messageSchema }), 'Stored and delivered'),
    ...errors('validation_failed', 'not_found', 'overloaded'),
  },
});
const messageParams = z.object({
  id,
  seq: z
    .string()
    .regex(/^[1-9]\d*$/)
    .describe("The message's seq"),
});
add({
  method: 'patch',
  path: '/api/conversations/{id}/messages/{seq}',
  tags: ['messages'],
  auth: true,
  summary: 'Edit your message (409 once deleted; 403 past MESSAGE_EDIT_WINDOW)',
  request: { params: messageParams, ...body(editMessageSchema) },
  responses: {
    200: json(z.object({ message: messageSchema }), 'Edited and announced as message:updated'),
    ...errors('validation_failed', 'forbidden', 'not_found', 'conflict'),
  },
});
add({
  method: 'delete',
  path: '/api/conversations/{id}/messages/{seq}',
  tags: ['messages'],
  auth: true,
  summary: 'Delete a message (yours, or any in a group you own or administer); it stays as a tombstone',
  request: { params: messageParams },
  responses: { 204: { description: 'Deleted (or already deleted)' }, ...errors('forbidden', 'not_found') },
});
add({
  method: 'get',
  path: '/api/search/messages',
  tags: ['messages'],
  auth: true,
  summary: "Full-text search of the caller's conversations, best match first",
  // Documented with the default SEARCH_QUERY_MAX_CHARS and SEARCH_PAGE_MAX.
  request: { query: searchQuerySchema({ maxChars: 256, maxLimit: 50 }) },
  responses: {
    200: json(
      z.object({
        messages: z.array(
          messageSchema.extend({ snippet: z.string().describe('HTML-escaped excerpt, matches in <mark>') }),
        ),
        next: z.string().optional(),
      }),
      'Matching messages',
    ),
    ...errors('validation_failed', 'not_found'),
  },
});
add({
  method: 'post',
  path: '/api/conversations/{id}/read',
  tags: ['messages'],
  auth: true,
  summary: 'Move the read cursor forward',
  request: { params: conversationParams, ...body(readSchema) },
  responses: { 204: { description: 'Recorded' }, ...errors('validation_failed', 'not_found') },
});
add({
  method: 'get',
  path: '/api/conversations/{id}/export',
  tags: ['messages'],
  auth: true,
  summary: 'Every message as gzip NDJSON',
  request: { params: conversationParams },
  responses: {
    200: {
      description: 'NDJSON, one message a line, gzip',
      content: { 'application/gzip': { schema: z.string().describe('binary') } },
    },
    ...errors('not_found', 'overloaded'),
  },
});

// --- Attachments (docs/attachments.md) ---
const attachmentParams = z.object({ id });
const bytes = (description: string) => ({
  description,
  content: { 'application/octet-stream': { schema: z.string().describe('binary') } },
});
const redirect = {
  description: 'S3 or Azure store: a short-lived signed URL of the object (Location)',
  headers: { Location: { description: 'Signed URL', schema: { type: 'string' as const } } },
};
add({
  method: 'post',
  path: '/api/attachments',
  tags: ['attachments'],
  auth: true,
  summary: 'Upload one file (multipart/form-data, field "file"), streamed; the type is sniffed from the bytes',
  request: {
    body: {
      required: true,
      content: { 'multipart/form-data': { schema: z.object({ file: z.string().describe('binary') }) } },
    },
  },
  responses: {
    201: json(
      z.object({ attachment: attachmentSchema }),
      'Stored; attach it with attachmentIds on a send within ATTACHMENT_ORPHAN_TTL',
    ),
    ...errors('validation_failed', 'payload_too_large', 'overloaded'),
  },
});
add({
  method: 'get',
  path: '/api/attachments/{id}',
  tags: ['attachments'],
  auth: true,
  summary: 'The bytes, for the uploader and members of a conversation holding it (Range, ETag, If-None-Match)',
  request: { params: attachmentParams },
  responses: {
    200: bytes('The whole file'),
    206: bytes('The requested range'),
    302: redirect,
    304: { description: 'Not modified (If-None-Match matched the ETag)' },
    ...errors('not_found', 'range_not_satisfiable', 'overloaded'),
  },
});
add({
  method: 'get',
  path: '/api/attachments/{id}/thumbnail',
  tags: ['attachments'],
  auth: true,
  summary: 'A small WebP of an image attachment (made on the worker pool once, then kept in the store)',
  request: { params: attachmentParams },
  responses: {
    200: { description: 'The thumbnail', content: { 'image/webp': { schema: z.string().describe('binary') } } },
    302: redirect,
    304: { description: 'Not modified' },
    ...errors('validation_failed', 'not_found', 'overloaded'),
  },
});
// --- Background jobs (exports as jobs; API.md, Background jobs and notifications) ---
export const jobSchema = z
  .looseObject({
    id,
    kind: z.enum(['export']),
    status: z.enum(['queued', 'running', 'done', 'failed']),
    url: z.string().optional().describe('When done: where the file downloads (same credential; owner, while a member)'),
    error: z.string().optional().describe('When failed: why, as a sentence'),
  })
  .meta({ id: 'Job' });
add({
  method: 'post',
  path: '/api/conversations/{id}/exports',
  tags: ['jobs'],
  auth: true,
  summary: 'Export the conversation as a background job (one unfinished export per user)',
  request: { params: conversationParams },
  responses: { 202: json(z.object({ job: jobSchema }), 'Queued'), ...errors('not_found', 'conflict') },
});
add({
  method: 'get',
  path: '/api/jobs/{id}',
  tags: ['jobs'],
  auth: true,
  summary: "One of the caller's jobs: status and, when done, the download URL",
  request: { params: z.object({ id }) },
  responses: { 200: json(z.object({ job: jobSchema }), 'The job'), ...errors('not_found') },
});
add({
  method: 'get',
  path: '/api/jobs/{id}/file',
  tags: ['jobs'],
  auth: true,
  summary: "A finished export's file (gzip NDJSON); 404 once deleted after EXPORT_TTL or when no longer a member",
  request: { params: z.object({ id }) },
  responses: {
    200: {
      description: 'NDJSON, one message a line, gzip',
      content: { 'application/gzip': { schema: z.string().describe('binary') } },
    },
    ...errors('not_found'),
  },
});

// --- Operations (no auth, never rate limited) ---
const operations = (path: string, summary: string, responses: RouteConfig['responses']) =>
  add({ method: 'get', path, tags: ['operations'], summary, responses });
const healthBody = z.looseObject({ status: z.string() });
const readiness = z.object({ status: z.enum(['ready', 'not_ready']), checks: z.record(z.string(), z.boolean()) });
const metricsText = {
  description: 'Prometheus text format, every PM2 instance of the host',
  content: { 'text/plain': { schema: z.string() } },
};
operations('/health', 'Status of this process; the detail only with Authorization: Bearer <HEALTH_DETAIL_TOKEN>', {
  200: json(healthBody, 'Healthy'),
  503: json(healthBody, 'Degraded or draining'),
});
operations('/health/live', 'Answers while the process can', { 200: json(z.looseObject({}), 'Alive') });
operations('/health/ready', 'Database (and Redis) answer and not draining', {
  200: json(readiness, 'Ready'),
  503: json(readiness, 'Not ready'),
});
operations('/metrics', 'Prometheus metrics', { 200: metricsText });
operations('/health/metrics', 'Prometheus metrics (old path of /metrics)', { 200: metricsText });
operations('/openapi.json', 'This document', { 200: json(z.looseObject({ openapi: z.string() }), 'OpenAPI 3.1') });

let document: object | undefined;

/** The document, generated once per process. The cookie's name comes from http/app.ts, which imports this file. */
export function openApiDocument(version: string, sessionCookie: string): object {
  if (document) return document;
  registry.registerComponent('securitySchemes', 'bearerAuth', {
    type: 'http',
    scheme: 'bearer',
    bearerFormat: 'JWT',
    description: 'The accessToken from register, login or refresh',
  });
  registry.registerComponent('securitySchemes', 'sessionCookie', {
    type: 'apiKey',
    in: 'cookie',
    name: sessionCookie,
    description: 'The session cookie set at register or login',
  });
  document = new OpenApiGeneratorV31(registry.definitions).generateDocument({
    openapi: '3.1.0',
    info: {
      title: 'Parley',
      version,
      description:
        'Chat and REST API. Errors always have the shape of the Error schema. Real-time events are on socket.io (see the README).',
    },
  });
  return document;
}
