// The HTTP half of the client: one method per route of the wire contract (GET /openapi.json describes them),
// bearer tokens kept and refreshed once on a 401, errors thrown as ParleyApiError with the contract's code.
import type { Conversation, ConversationSummary } from '../contract/conversations.js';
import type { ErrorBody } from '../contract/errors.js';
import type { Message } from '../contract/messages.js';
import type { Presence } from '../contract/presence.js';
import type { SignedIn, Tokens, User } from '../contract/users.js';

export class ParleyApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details?: Record<string, unknown>,
    /** Seconds, from Retry-After on 429 and 503. */
    readonly retryAfterSec?: number,
  ) {
    super(message);
    this.name = 'ParleyApiError';
  }
}

export interface RestOptions {
  /** e.g. http://127.0.0.1:3000 */
  url: string;
  tokens?: Tokens;
  /** Called after login, register and every refresh, to store the new pair. */
  onTokens?: (tokens: Tokens) => void;
}

type Query = Record<string, string | number | undefined>;

export class ParleyRest {
  readonly url: string;
  private tokens?: Tokens;
  private readonly onTokens?: (tokens: Tokens) => void;

  constructor(options: RestOptions) {
    this.url = options.url.replace(/\/$/, '');
    this.tokens = options.tokens;
    this.onTokens = options.onTokens;
  }

  get accessToken(): string | undefined {
    return this.tokens?.accessToken;
  }

  async register(input: { username: string; password: string; displayName?: string }): Promise<User> {
    return this.signIn(await this.call<SignedIn>('POST', '/api/auth/register', { body: input, auth: false }));
  }

  async login(input: { username: string; password: string }): Promise<User> {
    return this.signIn(await this.call<SignedIn>('POST', '/api/auth/login', { body: input, auth: false }));
  }

  /** Spends the refresh token for a new pair (a spent one revokes the whole sign-in). */
  async refresh(): Promise<Tokens> {
    if (!this.tokens) throw new ParleyApiError(401, 'unauthorized', 'Not signed in');
    const tokens = await this.call<Tokens>('POST', '/api/auth/refresh', {
      body: { refreshToken: this.tokens.refreshToken },
      auth: false,
    });
    this.setTokens(tokens);
    return tokens;
  }

  async logout(): Promise<void> {
    await this.call('POST', '/api/auth/logout');
    this.tokens = undefined;
  }

  me = async (): Promise<User> => (await this.call<{ user: User }>('GET', '/api/me')).user;
  searchUsers = async (q: string): Promise<User[]> =>
    (await this.call<{ users: User[] }>('GET', '/api/users', { query: { q } })).users;
  presence = async (userIds: string[]) =>
    (
      await this.call<{ presence: Record<string, Presence> }>('GET', '/api/presence', {
        query: { userIds: userIds.join(',') },
      })
    ).presence;

  openDirect = async (userId: string): Promise<Conversation> =>
    (
      await this.call<{ conversation: Conversation }>('POST', '/api/conversations', {
        body: { kind: 'direct', userId },
      })
    ).conversation;
  createGroup = async (title: string, memberIds: string[]): Promise<Conversation> =>
    (
      await this.call<{ conversation: Conversation }>('POST', '/api/conversations', {
        body: { kind: 'group', title, memberIds },
      })
    ).conversation;
  conversations = async (): Promise<ConversationSummary[]> =>
    (await this.call<{ conversations: ConversationSummary[] }>('GET', '/api/conversations')).conversations;
  conversation = async (id: string): Promise<Conversation> =>
    (await this.call<{ conversation: Conversation }>('GET', `/api/conversations/${enc(id)}`)).conversation;
  addMember = async (id: string, userId: string): Promise<Conversation> =>
    (
      await this.call<{ conversation: Conversation }>('POST', `/api/conversations/${enc(id)}/members`, {
        body: { userId },
      })
    ).conversation;
  removeMember = async (id: string, userId: string): Promise<void> => {
    await this.call('DELETE', `/api/conversations/${enc(id)}/members/${enc(userId)}`);
  };

  /** `before` pages back (newest first), `after` pages forward (oldest first). */
  history = async (id: string, page: { before?: number; after?: number; limit?: number } = {}): Promise<Message[]> =>
    (await this.call<{ messages: Message[] }>('GET', `/api/conversations/${enc(id)}/messages`, { query: page }))
      .messages;
  /** Idempotent on clientMsgId: sending it again returns the stored message. `attachmentIds`: your own uploads. */
  send = async (id: string, body: string, clientMsgId: string, attachmentIds?: string[]): Promise<Message> =>
    (
      await this.call<{ message: Message }>('POST', `/api/conversations/${enc(id)}/messages`, {
        body: { body, clientMsgId, ...(attachmentIds ? { attachmentIds } : {}) },
      })
    ).message;
  /** The sender only. */
  edit = async (id: string, seq: number, body: string): Promise<Message> =>
    (
      await this.call<{ message: Message }>('PATCH', `/api/conversations/${enc(id)}/messages/${seq}`, {
        body: { body },
      })
    ).message;
  /** The sender, or an owner or admin of the group; the message stays as a tombstone (empty body, `deletedAt`). */
  deleteMessage = async (id: string, seq: number): Promise<void> => {
    await this.call('DELETE', `/api/conversations/${enc(id)}/messages/${seq}`);
  };
  markRead = async (id: string, seq: number): Promise<void> => {
    await this.call('POST', `/api/conversations/${enc(id)}/read`, { body: { seq } });
  };

  /** Any route, for what has no method here yet. Refreshes once and retries on a 401 when signed in. */
  async call<T = unknown>(
    method: string,
    path: string,
    options: { body?: unknown; query?: Query; auth?: boolean } = {},
  ): Promise<T> {
    const auth = options.auth ?? true;
    const first = await this.fetchRoute(method, path, options, auth);
    if (first.status === 401 && auth && this.tokens) {
      await this.refresh();
      return this.parse<T>(await this.fetchRoute(method, path, options, auth));
    }
    return this.parse<T>(first);
  }

  private fetchRoute(
    method: string,
    path: string,
    options: { body?: unknown; query?: Query },
    auth: boolean,
  ): Promise<Response> {
    const query = Object.entries(options.query ?? {}).filter(
      (entry): entry is [string, string | number] => entry[1] !== undefined,
    );
    const search = query.length > 0 ? `?${new URLSearchParams(query.map(([k, v]) => [k, String(v)]))}` : '';
    const headers: Record<string, string> = {};
    if (auth && this.tokens) headers.authorization = `Bearer ${this.tokens.accessToken}`;
    if (options.body !== undefined) headers['content-type'] = 'application/json';
    return fetch(`${this.url}${path}${search}`, {
      method,
      headers,
      body: options.body === undefined ? undefined : JSON.stringify(options.body),
    });
  }

  private async parse<T>(response: Response): Promise<T> {
    const text = await response.text();
    const body: unknown =
      text && (response.headers.get('content-type') ?? '').includes('json') ? JSON.parse(text) : undefined;
    if (response.ok) return body as T;
    const error = (body as Partial<ErrorBody> | undefined)?.error;
    const retryAfter = Number(response.headers.get('retry-after'));
    const code = error?.code ?? 'internal';
    const message = error?.message ?? `HTTP ${response.status}`;
    throw new ParleyApiError(response.status, code, message, error?.details, retryAfter > 0 ? retryAfter : undefined);
  }

  private signIn(result: SignedIn): User {
    this.setTokens({ accessToken: result.accessToken, refreshToken: result.refreshToken });
    return result.user;
  }

  private setTokens(tokens: Tokens): void {
    this.tokens = tokens;
    this.onTokens?.(tokens);
  }
}

const enc = encodeURIComponent;
