// REST calls with the session cookie. Every failure becomes an ApiError whose message is a sentence a person can
// read: the server's own message when it sent the contract's error shape, else what went wrong on the way.
import type { Attachment } from '../contract/attachments.js';
import type { Conversation, ConversationList, MemberRole } from '../contract/conversations.js';
import type { ErrorBody } from '../contract/errors.js';
import type { Message } from '../contract/messages.js';
import type { Presence } from '../contract/presence.js';
import type { User } from '../contract/users.js';

export class ApiError extends Error {
  constructor(
    message: string,
    readonly code: string,
    readonly status: number,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

const UNREACHABLE = 'Parley cannot be reached right now. Check your connection and try again.';

async function call<T>(method: string, path: string, body?: unknown): Promise<T> {
  let response: Response;
  try {
    response = await fetch(path, {
      method,
      credentials: 'same-origin',
      headers: body === undefined ? {} : { 'Content-Type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch {
    throw new ApiError(UNREACHABLE, 'network', 0);
  }
  if (response.status === 204) return undefined as T;
  const text = await response.text();
  const parsed = text ? safeJson(text) : undefined;
  if (!response.ok) throw errorFrom(response.status, response.statusText, response.headers.get('Retry-After'), parsed);
  return parsed as T;
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function errorFrom(status: number, statusText: string, retry: string | null, parsed: unknown): ApiError {
  const error = (parsed as ErrorBody | undefined)?.error;
  if (error?.message) {
    const suffix =
      retry && (error.code === 'rate_limited' || error.code === 'overloaded') ? ` Try again in ${retry} s.` : '';
    return new ApiError(sentence(withFields(error.message, error.details)) + suffix, error.code, status);
  }
  return new ApiError(`Parley answered ${status} ${statusText || ''}`.trim() + '.', 'http', status);
}

export interface Upload {
  /** The stored attachment, or an ApiError with the server's sentence (413 too large, 400 type not accepted). */
  done: Promise<Attachment>;
  abort(): void;
}

/**
 * POST /api/attachments with the file as multipart form data. XMLHttpRequest rather than fetch: only it reports
 * upload progress, which a 10 MB file on a slow link needs.
 */
function uploadAttachment(file: File, onProgress: (fraction: number) => void): Upload {
  const request = new XMLHttpRequest();
  const done = new Promise<Attachment>((resolve, reject) => {
    request.open('POST', '/api/attachments');
    request.responseType = 'text';
    request.upload.addEventListener('progress', (event) => {
      if (event.lengthComputable) onProgress(event.loaded / event.total);
    });
    request.addEventListener('load', () => {
      const parsed = request.responseText ? safeJson(request.responseText) : undefined;
      if (request.status === 201) return resolve((parsed as { attachment: Attachment }).attachment);
      reject(errorFrom(request.status, request.statusText, request.getResponseHeader('Retry-After'), parsed));
    });
    request.addEventListener('error', () => reject(new ApiError(UNREACHABLE, 'network', 0)));
    request.addEventListener('abort', () => reject(new ApiError('The upload was cancelled.', 'aborted', 0)));
    const form = new FormData();
    form.append('file', file, file.name);
    request.send(form);
  });
  return { done, abort: () => request.abort() };
}

/** validation_failed names the fields: "Request is invalid: password must be at least 8 characters". */
function withFields(message: string, details: unknown): string {
  const fields = (details as { fields?: Record<string, string> } | undefined)?.fields;
  if (!fields || Object.keys(fields).length === 0) return message;
  return `${message}: ${Object.entries(fields)
    .map(([field, problem]) => `${field} ${problem}`)
    .join('; ')}`;
}

/** Server messages are sentences without a final stop now and then; shown to people, they end with one. */
export const sentence = (text: string): string => (/[.!?]$/.test(text) ? text : `${text}.`);

export const api = {
  register: (username: string, password: string, displayName?: string) =>
    call<{ user: User }>('POST', '/api/auth/register', { username, password, ...(displayName ? { displayName } : {}) }),
  login: (username: string, password: string) =>
    call<{ user: User }>('POST', '/api/auth/login', { username, password }),
  logout: () => call<void>('POST', '/api/auth/logout'),
  me: () => call<{ user: User }>('GET', '/api/me'),
  searchUsers: (q: string) => call<{ users: User[] }>('GET', `/api/users?q=${encodeURIComponent(q)}`),
  /** v2 pages with `limit`/`before` and answers `next`; a v1 server answers every conversation at once. */
  conversations: (before?: string) =>
    call<ConversationList>(
      'GET',
      `/api/conversations?limit=50${before ? `&before=${encodeURIComponent(before)}` : ''}`,
    ),
  conversation: (id: string) => call<{ conversation: Conversation }>('GET', `/api/conversations/${id}`),
  openDirect: (userId: string) =>
    call<{ conversation: Conversation }>('POST', '/api/conversations', { kind: 'direct', userId }),
  createGroup: (title: string, memberIds: string[]) =>
    call<{ conversation: Conversation }>('POST', '/api/conversations', { kind: 'group', title, memberIds }),
  addMember: (id: string, userId: string) =>
    call<{ conversation: Conversation }>('POST', `/api/conversations/${id}/members`, { userId }),
  removeMember: (id: string, userId: string) => call<void>('DELETE', `/api/conversations/${id}/members/${userId}`),
  setRole: (id: string, userId: string, role: MemberRole) =>
    call<{ conversation: Conversation }>('PATCH', `/api/conversations/${id}/members/${userId}`, { role }),
  /** Newest first, `before` a seq. */
  history: (id: string, before?: number) =>
    call<{ messages: Message[] }>(
      'GET',
      `/api/conversations/${id}/messages?limit=50${before ? `&before=${before}` : ''}`,
    ),
  /** Own messages only; answers the edited message (`message:updated` brings it to the other windows). */
  editMessage: (id: string, seq: number, body: string) =>
    call<{ message: Message }>('PATCH', `/api/conversations/${id}/messages/${seq}`, { body }),
  /** Own messages, or anyone's for a group's owner and admins; leaves a tombstone. */
  deleteMessage: (id: string, seq: number) => call<void>('DELETE', `/api/conversations/${id}/messages/${seq}`),
  presence: (userIds: string[]) =>
    call<{ presence: Record<string, Presence> }>('GET', `/api/presence?userIds=${userIds.join(',')}`),
  uploadAttachment,
};
