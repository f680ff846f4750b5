// A small HTTP client for tests speaking the wire contract, and helpers that create users and conversations.
import { randomBytes } from 'node:crypto';
import type { User } from '../../src/contract/users.js';

export interface Reply<T = any> {
  status: number;
  headers: Headers;
  body: T;
}

export interface Account {
  user: User;
  accessToken: string;
  refreshToken: string;
  cookie: string;
}

export async function request<T = any>(
  baseUrl: string,
  method: string,
  path: string,
  options: { body?: unknown; rawBody?: string; token?: string; cookie?: string; headers?: Record<string, string> } = {},
): Promise<Reply<T>> {
  const headers: Record<string, string> = { ...options.headers };
  if (options.token) headers.authorization = `Bearer ${options.token}`;
  if (options.cookie) headers.cookie = options.cookie;
  let body: string | undefined = options.rawBody;
  if (options.body !== undefined) body = JSON.stringify(options.body);
  if (body !== undefined) headers['content-type'] ??= 'application/json';
  const response = await fetch(baseUrl + path, { method, headers, body });
  const text = await response.text();
  const type = response.headers.get('content-type') ?? '';
  return {
    status: response.status,
    headers: response.headers,
    body: type.includes('json') && text ? JSON.parse(text) : text,
  };
}

export const uniqueName = (prefix = 'u'): string => `${prefix}_${randomBytes(5).toString('hex')}`;

/** The `name=value` pairs of every Set-Cookie header, ready to send back as a Cookie header. */
export const cookieFrom = (headers: Headers): string =>
  headers
    .getSetCookie()
    .map((line) => line.split(';')[0])
    .join('; ');

export async function register(baseUrl: string, username = uniqueName(), password = 'correct horse'): Promise<Account> {
  const reply = await request(baseUrl, 'POST', '/api/auth/register', { body: { username, password } });
  if (reply.status !== 201) throw new Error(`register failed: ${reply.status} ${JSON.stringify(reply.body)}`);
  return { ...reply.body, cookie: cookieFrom(reply.headers) };
}

export async function createGroup(
  baseUrl: string,
  owner: Account,
  members: Account[],
  title = 'group',
): Promise<string> {
  const reply = await request(baseUrl, 'POST', '/api/conversations', {
    token: owner.accessToken,
    body: { kind: 'group', title, memberIds: members.map((member) => member.user.id) },
  });
  if (reply.status !== 201) throw new Error(`create group failed: ${reply.status} ${JSON.stringify(reply.body)}`);
  return reply.body.conversation.id;
}

/** Sends a message over REST and returns it; anything but 201 throws. */
export async function sendMessage(
  baseUrl: string,
  sender: Account,
  conversationId: string,
  body: string,
  clientMsgId = randomBytes(8).toString('hex'),
): Promise<{ id: string; conversationId: string; seq: number; body: string }> {
  const reply = await request(baseUrl, 'POST', `/api/conversations/${conversationId}/messages`, {
    token: sender.accessToken,
    body: { body, clientMsgId },
  });
  if (reply.status !== 201) throw new Error(`send failed: ${reply.status} ${JSON.stringify(reply.body)}`);
  return reply.body.message;
}

/** PATCH .../messages/:seq with a new body (any value, to test bad input too). */
export const editMessage = (
  baseUrl: string,
  who: Account,
  conversationId: string,
  seq: number | string,
  body: unknown,
): Promise<Reply> =>
  request(baseUrl, 'PATCH', `/api/conversations/${conversationId}/messages/${seq}`, {
    token: who.accessToken,
    body: { body },
  });

export const deleteMessage = (
  baseUrl: string,
  who: Account,
  conversationId: string,
  seq: number | string,
): Promise<Reply> =>
  request(baseUrl, 'DELETE', `/api/conversations/${conversationId}/messages/${seq}`, { token: who.accessToken });
