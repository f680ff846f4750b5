// The socket half of the client: typed events, one stream of messages that live delivery and catch-up both
// feed (deduplicated by seq), one stream of edits and deletions fed the same way (live `message:updated` and sync's
// `changes` from the `changesToken` it keeps), `sync` at every connect from the cursors it has seen, and the server's
// `server:draining {reconnectInMs}` honoured: the server draws each socket's delay within its spread window, and the
// client waits exactly that long before reconnecting, so a reload is not one reconnect stampede.
import { io, type Socket } from 'socket.io-client';
import type { ErrorBody } from '../contract/errors.js';
import type { Message } from '../contract/messages.js';
import type { ClientToServerEvents, ServerToClientEvents } from './events.js';

export type ParleySocket = Socket<ServerToClientEvents, ClientToServerEvents>;

export interface RealtimeOptions {
  url: string;
  /** Read at each (re)connection, so a refreshed token is used. */
  token: () => string | undefined;
  /** Last seen seq per conversation, e.g. restored from storage; kept up to date from then on. */
  cursors?: Record<string, number>;
  /** The last `changesToken` seen, e.g. restored from storage: edits and deletions since then are caught up. */
  changesToken?: string;
  /** socket.io's transports; websocket by default (PM2 round-robin breaks polling without sticky routing). */
  transports?: Array<'websocket' | 'polling'>;
  ackTimeoutMs?: number;
}

/**
 * A reconnect the server refused as `overloaded` (its socket cap reached, or its database or Redis away) is tried
 * again after a jittered, doubling wait: socket.io itself never retries a refusal by the server's middleware, so a
 * client refused once during a reconnect wave would otherwise stay offline.
 */
const REFUSED_RECONNECT = { firstMs: 500, maxMs: 15_000 };

/** Messages whose last change the client remembers, to deliver each change once; the oldest are forgotten first. */
const REMEMBERED_CHANGES = 10_000;

/** When a message last changed: its deletion, else its last edit (ms; 0 for a message never changed). */
const changedAt = (message: Message) => Date.parse(message.deletedAt ?? message.editedAt ?? '') || 0;

export class ParleyRealtime {
  readonly socket: ParleySocket;
  readonly cursors: Record<string, number>;
  /** Where the change feed was last read; kept up to date by every sync. */
  changesToken: string | undefined;
  private readonly listeners = new Set<(message: Message) => void>();
  private readonly changeListeners = new Set<(message: Message) => void>();
  private readonly lastChange = new Map<string, number>();
  private readonly ackTimeoutMs: number;
  private drainWaitMs: number | undefined;
  private reconnectTimer: ReturnType<typeof setTimeout> | undefined;
  private connectedOnce = false;
  private refusedReconnects = 0;
  private closed = false;

  constructor(options: RealtimeOptions) {
    this.cursors = { ...options.cursors };
    this.changesToken = options.changesToken;
    this.ackTimeoutMs = options.ackTimeoutMs ?? 10_000;
    this.socket = io(options.url, {
      transports: options.transports ?? ['websocket'],
      auth: (cb) => cb({ token: options.token() }),
      autoConnect: false,
    });
    this.socket.on('message:new', ({ message }) => this.deliver(message));
    this.socket.on('message:updated', ({ message }) => this.deliverChange(message));
    // A sync naming a conversation the user has left fails as a whole (not_found): stop following it.
    this.socket.on('conversation:removed', ({ conversationId }) => delete this.cursors[conversationId]);
    this.socket.on('server:draining', ({ reconnectInMs }) => {
      this.drainWaitMs = Math.max(0, reconnectInMs);
      this.socket.io.reconnection(false);
    });
    this.socket.on('disconnect', () => {
      if (this.drainWaitMs === undefined || this.closed) return;
      const wait = this.drainWaitMs;
      this.drainWaitMs = undefined;
      this.reconnectTimer = setTimeout(() => {
        this.socket.io.reconnection(true);
        this.socket.connect();
      }, wait);
    });
    this.socket.on('connect', () => {
      // After a reconnect, whatever was broadcast while away comes from the database, in seq order. The first
      // connect syncs too: restored cursors catch up, and the change feed gets its token, so the edits and
      // deletions made during the next disconnect are caught up as well.
      this.connectedOnce = true;
      this.refusedReconnects = 0;
      void this.catchUp().catch(() => undefined);
    });
    this.socket.on('connect_error', (error: Error & { data?: { code?: string } }) => {
      // A first connect's refusal is connect()'s answer to its caller; `active` means socket.io retries by itself.
      if (!this.connectedOnce || this.closed || this.socket.active || error.data?.code !== 'overloaded') return;
      const doubled = REFUSED_RECONNECT.firstMs * 2 ** this.refusedReconnects;
      const wait = Math.min(REFUSED_RECONNECT.maxMs, doubled) * (0.5 + Math.random() / 2);
      this.refusedReconnects += 1;
      clearTimeout(this.reconnectTimer);
      this.reconnectTimer = setTimeout(() => this.socket.connect(), wait);
    });
  }

  /** Connects and resolves once connected, or rejects with the handshake's error (e.g. `unauthorized`). */
  connect(): Promise<this> {
    return new Promise((resolve, reject) => {
      const failed = (error: Error) => {
        this.socket.off('connect', done);
        reject(error);
      };
      const done = () => {
        this.socket.off('connect_error', failed);
        resolve(this);
      };
      this.socket.once('connect', done);
      this.socket.once('connect_error', failed);
      this.socket.connect();
    });
  }

  /** Every message once, from live delivery or catch-up, in seq order per conversation. */
  onMessage(listener: (message: Message) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async send(conversationId: string, body: string, clientMsgId: string, attachmentIds?: string[]): Promise<Message> {
    const reply = await this.socket
      .timeout(this.ackTimeoutMs)
      .emitWithAck('message:send', { conversationId, body, clientMsgId, ...(attachmentIds ? { attachmentIds } : {}) });
    if (!reply.ok) throw ackError(reply.error);
    this.deliver(reply.message);
    return reply.message;
  }

  /** Every edit and deletion once (the message as it is now), from live delivery or catch-up. */
  onChange(listener: (message: Message) => void): () => void {
    this.changeListeners.add(listener);
    return () => this.changeListeners.delete(listener);
  }

  /** Edits one of your messages; resolves with it as stored. */
  async edit(conversationId: string, seq: number, body: string): Promise<Message> {
    const reply = await this.socket
      .timeout(this.ackTimeoutMs)
      .emitWithAck('message:edit', { conversationId, seq, body });
    if (!reply.ok) throw ackError(reply.error);
    this.deliverChange(reply.message);
    return reply.message;
  }

  /** Deletes a message (yours, or any as a group's owner or admin); members get its tombstone as a change. */
  async delete(conversationId: string, seq: number): Promise<void> {
    const reply = await this.socket.timeout(this.ackTimeoutMs).emitWithAck('message:delete', { conversationId, seq });
    if (!reply.ok) throw ackError(reply.error);
  }

  /** Asks for everything after the cursors and the changes since the token, page after page, and delivers it. */
  async catchUp(): Promise<Message[]> {
    const all: Message[] = [];
    for (;;) {
      const reply = await this.socket.timeout(this.ackTimeoutMs).emitWithAck('sync', {
        cursors: { ...this.cursors },
        ...(this.changesToken ? { changesSince: this.changesToken } : {}),
      });
      if (!reply.ok) throw ackError(reply.error);
      for (const message of reply.messages) if (this.deliver(message)) all.push(message);
      for (const message of reply.changes) this.deliverChange(message);
      this.changesToken = reply.changesToken;
      if (!reply.more || reply.messages.length + reply.changes.length === 0) return all;
    }
  }

  /** Remembers a conversation to catch up on from `seq` (e.g. one just joined, from 0). */
  follow(conversationId: string, seq = 0): void {
    this.cursors[conversationId] ??= seq;
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.reconnectTimer);
    this.socket.close();
  }

  /** Delivers a change unless this version (or a later one) of the message was delivered already. */
  private deliverChange(message: Message): void {
    const at = changedAt(message);
    if (at <= (this.lastChange.get(message.id) ?? 0)) return;
    this.lastChange.delete(message.id);
    this.lastChange.set(message.id, at);
    if (this.lastChange.size > REMEMBERED_CHANGES) this.lastChange.delete(this.lastChange.keys().next().value!);
    for (const listener of this.changeListeners) listener(message);
  }

  /** True when the message is new to this client. */
  private deliver(message: Message): boolean {
    const seen = this.cursors[message.conversationId] ?? 0;
    if (message.seq <= seen) return false;
    this.cursors[message.conversationId] = message.seq;
    for (const listener of this.listeners) listener(message);
    return true;
  }
}

/** A refused ack as an Error carrying the contract's code and details. */
const ackError = (error: ErrorBody['error']) =>
  Object.assign(new Error(error.message), { code: error.code, details: error.details });
