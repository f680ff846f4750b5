// The socket half of the client: typed events, one stream of messages that live delivery and catch-up both
// feed (deduplicated by seq), `sync` after every reconnect from the cursors it has seen, and the server's
// `server:draining {reconnectInMs}` honoured: the server draws each socket's delay within its spread window, and the
// client waits exactly that long before reconnecting, so a reload is not one reconnect stampede.
import { io, type Socket } from 'socket.io-client';
import type { Message } from '../contract/messages.js';
import type { ClientToServerEvents, ServerToClientEvents } from './events.js';

export type ParleySocket = Socket<ServerToClientEvents, ClientToServerEvents>;

export interface RealtimeOptions {
  url: string;
  /** Read at each (re)connection, so a refreshed token is used. */
  token: () => string | undefined;
  /** Last seen seq per conversation, e.g. restored from storage; kept up to date from then on. */
  cursors?: Record<string, number>;
  /** socket.io's transports; websocket by default (PM2 round-robin breaks polling without sticky routing). */
  transports?: Array<'websocket' | 'polling'>;
  ackTimeoutMs?: number;
}

export class ParleyRealtime {
  readonly socket: ParleySocket;
  readonly cursors: Record<string, number>;
  private readonly listeners = new Set<(message: Message) => void>();
  private readonly ackTimeoutMs: number;
  private drainWaitMs: number | undefined;
  private reconnectTimer: ReturnType<typeof setTimeout> | undefined;
  private connectedOnce = false;
  private closed = false;

  constructor(options: RealtimeOptions) {
    this.cursors = { ...options.cursors };
    this.ackTimeoutMs = options.ackTimeoutMs ?? 10_000;
    this.socket = io(options.url, {
      transports: options.transports ?? ['websocket'],
      auth: (cb) => cb({ token: options.token() }),
      autoConnect: false,
    });
    this.socket.on('message:new', ({ message }) => this.deliver(message));
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
      // After a reconnect, whatever was broadcast while away comes from the database, in seq order.
      if (this.connectedOnce) void this.catchUp().catch(() => undefined);
      this.connectedOnce = true;
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
    if (!reply.ok)
      throw Object.assign(new Error(reply.error.message), { code: reply.error.code, details: reply.error.details });
    this.deliver(reply.message);
    return reply.message;
  }

  /** Asks for everything after the cursors, page after page, and delivers it. */
  async catchUp(): Promise<Message[]> {
    const all: Message[] = [];
    for (;;) {
      const reply = await this.socket.timeout(this.ackTimeoutMs).emitWithAck('sync', { cursors: { ...this.cursors } });
      if (!reply.ok) throw Object.assign(new Error(reply.error.message), { code: reply.error.code });
      for (const message of reply.messages) if (this.deliver(message)) all.push(message);
      if (!reply.more || reply.messages.length === 0) return all;
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

  /** True when the message is new to this client. */
  private deliver(message: Message): boolean {
    const seen = this.cursors[message.conversationId] ?? 0;
    if (message.seq <= seen) return false;
    this.cursors[message.conversationId] = message.seq;
    for (const listener of this.listeners) listener(message);
    return true;
  }
}
