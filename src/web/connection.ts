// The live connection: one socket.io socket (WebSocket only: stock PM2 routes each HTTP request round robin, which
// breaks long-polling sessions), the banner state, and the catch-up that runs on every (re)connect: refresh the
// conversation list, `sync` from each conversation's high-water mark until `more` is false, refresh presence,
// then send what waited in the outbox. Nothing is missed (sync) and nothing is doubled (seq dedupe, clientMsgId).
import { io, type Socket } from 'socket.io-client';
import { api, ApiError, sentence } from './api.js';
import type { Outbox, Pending } from './outbox.js';
import type { ChatStore } from './store.js';
import type { Conversation } from '../contract/conversations.js';
import type { AckReply } from '../contract/errors.js';
import type { SyncAnswer } from '../contract/events.js';
import type { Message } from '../contract/messages.js';
import type { PresenceEvent } from '../contract/presence.js';

export type Banner = 'connecting' | 'catching-up' | 'connected' | 'offline' | 'restarting';

export interface ConnectionEvents {
  banner(state: Banner): void;
  /** Something the user should read (an error, a removal): shown in the alert region. */
  notice(text: string): void;
  /** The credential is gone (logout elsewhere, expiry): back to the sign-in screen. */
  signedOut(): void;
}

const ACK_TIMEOUT_MS = 10_000;
const RETRY_MS = 1_000;
const SYNC_CHUNK = 1_000; // conversations per sync call (the server's SYNC_MAX_CONVERSATIONS)
const PRESENCE_CHUNK = 200;
const CATCH_UP_ATTEMPTS_BEFORE_NOTICE = 3;
const MAX_SYNC_ROUNDS = 20; // ids per presence look-up (the server's limit)

export class Connection {
  readonly socket: Socket;
  banner: Banner = 'connecting';
  /** Bumped on every connect: a catch-up that a newer connection overtook stops. */
  private generation = 0;
  private syncing = false;
  private resyncWanted = false;
  private retryTimer?: ReturnType<typeof setTimeout>;
  private readonly presenceAsked = new Set<string>();
  private failedCatchUps = 0;

  constructor(
    private readonly store: ChatStore,
    private readonly outbox: Outbox,
    private readonly events: ConnectionEvents,
  ) {
    this.socket = io({
      transports: ['websocket'],
      withCredentials: true,
      reconnectionDelay: 500,
      reconnectionDelayMax: 3_000,
      randomizationFactor: 0.5,
      autoConnect: false,
    });
    this.listen();
    window.addEventListener('offline', this.wentOffline);
    window.addEventListener('online', this.cameOnline);
    if (!navigator.onLine) this.setBanner('offline');
    this.socket.connect();
  }

  close(): void {
    window.removeEventListener('offline', this.wentOffline);
    window.removeEventListener('online', this.cameOnline);
    clearTimeout(this.retryTimer);
    this.socket.removeAllListeners();
    this.socket.disconnect();
  }

  get connected(): boolean {
    return this.socket.connected && this.banner === 'connected';
  }

  typing(conversationId: string, isTyping: boolean): void {
    if (this.socket.connected) this.socket.emit('typing', { conversationId, isTyping });
  }

  markRead(conversationId: string, seq: number): void {
    const me = this.store.me;
    if (!me || !this.socket.connected) return;
    this.store.read(conversationId, me.id, seq);
    this.socket.emit('read', { conversationId, seq }, (ack: AckReply<{ seq: number }>) => {
      if (!ack.ok && ack.error.code !== 'rate_limited') this.events.notice(sentence(ack.error.message));
    });
  }

  /** Sends whatever waits, one message per conversation at a time. */
  pump(): void {
    if (!this.connected) return;
    for (const item of this.outbox.ready()) this.send(item);
  }

  /** Presence of members not looked up yet (someone just added, a new conversation). */
  lookUpNewContacts(): void {
    if (!this.socket.connected) return;
    // Asked once each: the server answers only for people who share a conversation with the user.
    const unknown = this.store.contacts().filter((id) => !this.store.presence.has(id) && !this.presenceAsked.has(id));
    for (const id of unknown) this.presenceAsked.add(id);
    if (unknown.length > 0) void this.lookUpPresence(unknown).catch((error: unknown) => this.report(error));
  }

  retry(item: Pending): void {
    this.outbox.mark(item, 'queued');
    this.pump();
  }

  private send(item: Pending): void {
    this.outbox.mark(item, 'sending');
    const payload = {
      conversationId: item.conversationId,
      body: item.body,
      clientMsgId: item.clientMsgId,
      ...(item.attachments ? { attachmentIds: item.attachments.map((attachment) => attachment.id) } : {}),
    };
    this.socket
      .timeout(ACK_TIMEOUT_MS)
      .emit('message:send', payload, (timedOut: Error | null, ack?: AckReply<{ message: Message }>) => {
        if (timedOut || !ack) {
          // Dropped, or no answer in time: send again with the same clientMsgId once connected.
          this.outbox.mark(item, 'queued');
          this.retrySoon();
        } else if (ack.ok) {
          this.take(ack.message);
          this.outbox.settle(item.clientMsgId);
          this.pump();
        } else if (ack.error.code === 'rate_limited' || ack.error.code === 'overloaded') {
          this.outbox.mark(item, 'queued');
          this.retrySoon();
        } else {
          this.outbox.mark(item, 'failed', sentence(ack.error.message));
          this.pump();
        }
      });
  }

  private retrySoon(): void {
    clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => this.pump(), RETRY_MS);
  }

  private listen(): void {
    const socket = this.socket;
    socket.on('connect', () => void this.catchUp());
    socket.on('disconnect', (reason) => {
      this.generation += 1;
      if (this.store.me)
        this.store.setPresence(this.store.me.id, { status: 'offline', lastSeenAt: new Date().toISOString() });
      if (reason === 'io server disconnect') void this.serverClosed();
      else if (reason !== 'io client disconnect') this.setBanner(navigator.onLine ? 'connecting' : 'offline');
    });
    socket.on('connect_error', (error) => {
      if (error.message === 'unauthorized') void this.serverClosed();
      else this.setBanner(navigator.onLine ? 'connecting' : 'offline');
    });
    socket.on('message:new', ({ message }: { message: Message }) => void this.arrived(message));
    // v2 (edit and delete): the changed message replaces the held copy.
    socket.on('message:updated', ({ message }: { message: Message }) => this.take(message));
    socket.on(
      'typing',
      ({ conversationId, userId, isTyping }: { conversationId: string; userId: string; isTyping: boolean }) =>
        this.store.typing(conversationId, userId, isTyping),
    );
    socket.on('read', ({ conversationId, userId, seq }: { conversationId: string; userId: string; seq: number }) =>
      this.store.read(conversationId, userId, seq),
    );
    socket.on('presence', ({ userId, status, lastSeenAt }: PresenceEvent) =>
      this.store.setPresence(userId, { status, lastSeenAt }),
    );
    socket.on('conversation:new', ({ conversation }: { conversation: Conversation }) => {
      const known = this.store.conversations.has(conversation.id);
      this.store.upsert(conversation);
      // The creator (owner) hears of the group too, sometimes before its own POST answers: no news to them.
      const mine = conversation.members.find((member) => member.id === this.store.me?.id);
      if (!known && conversation.kind === 'group' && mine?.role !== 'owner')
        this.events.notice(`You were added to ${this.store.titleOf(conversation)}.`);
      void this.lookUpPresence(conversation.members.map((member) => member.id));
    });
    // A member list changed (v2 servers may announce it to every member; v1 tells only the added or removed user).
    socket.on('conversation:updated', ({ conversation }: { conversation: Conversation }) =>
      this.store.upsert(conversation),
    );
    socket.on('conversation:removed', ({ conversationId }: { conversationId: string }) => {
      const state = this.store.conversations.get(conversationId);
      if (state) this.events.notice(`You are no longer a member of ${this.store.titleOf(state.conversation)}.`);
      this.outbox.dropConversation(conversationId);
      this.store.remove(conversationId);
    });
    // Operator issue: a draining process asks clients to come back within a jittered moment, not all at once.
    socket.on('server:draining', ({ reconnectInMs }: { reconnectInMs?: number }) => {
      this.setBanner('restarting');
      const wait = Math.random() * Math.max(0, Math.min(reconnectInMs ?? 1_000, 30_000));
      setTimeout(() => {
        socket.disconnect();
        socket.connect();
      }, wait);
    });
  }

  /** A message the server announced: held once; an unknown conversation or sender is fetched. */
  private async arrived(message: Message): Promise<void> {
    const state = this.store.conversations.get(message.conversationId);
    if (!state) {
      await this.refreshConversation(message.conversationId);
      this.take(message);
      return;
    }
    this.take(message);
    if (!state.conversation.members.some((member) => member.id === message.senderId))
      await this.refreshConversation(message.conversationId);
  }

  private take(message: Message): void {
    if (message.senderId === this.store.me?.id) this.outbox.settle(message.clientMsgId);
    const { missing } = this.store.accept(message);
    if (missing) void this.sync();
  }

  private async refreshConversation(id: string): Promise<void> {
    try {
      const { conversation } = await api.conversation(id);
      this.store.upsert(conversation);
    } catch (error) {
      if (error instanceof ApiError && error.status === 404) this.store.remove(id);
      else this.report(error);
    }
  }

  /** Runs on every connect; the banner says "Connected" only once nothing is missing. */
  private async catchUp(): Promise<void> {
    const generation = ++this.generation;
    this.setBanner('catching-up');
    try {
      await this.refreshList();
      await this.sync();
      await this.lookUpPresence(this.store.contacts());
      if (generation !== this.generation) return;
      this.store.setPresence(this.store.me!.id, { status: 'online', lastSeenAt: null });
      this.setBanner('connected');
      this.pump();
      this.failedCatchUps = 0;
    } catch (error) {
      if (generation !== this.generation) return;
      if (error instanceof ApiError && error.status === 401) return this.events.signedOut();
      // A restart in progress fails a request or two: say so only when it keeps failing.
      this.failedCatchUps += 1;
      if (this.failedCatchUps >= CATCH_UP_ATTEMPTS_BEFORE_NOTICE)
        this.events.notice(error instanceof Error ? error.message : 'Catching up failed.');
      // Try the whole catch-up again on a fresh connection.
      this.setBanner('connecting');
      this.socket.disconnect();
      setTimeout(() => this.socket.connect(), RETRY_MS);
    }
  }

  /** The first page of the list; when it is the whole list, conversations missing from it are dropped. */
  private async refreshList(): Promise<Set<string>> {
    const first = await api.conversations();
    this.store.nextPage = first.next;
    this.store.replaceAll(first.conversations, first.next === undefined);
    return new Set(first.conversations.map((conversation) => conversation.id));
  }

  /**
   * After sync's not_found: the refreshed list drops what the user left; a paged (v2) list shows only its first
   * page, so the others named in the sync are asked one by one (404 drops them).
   */
  private async dropConversationsLeft(ids: string[]): Promise<void> {
    const listed = await this.refreshList();
    for (const id of ids) if (this.store.conversations.has(id) && !listed.has(id)) await this.refreshConversation(id);
  }

  /** `sync` until nothing is left; concurrent requests fold into one more round. */
  private async sync(): Promise<void> {
    if (this.syncing) {
      this.resyncWanted = true;
      return;
    }
    this.syncing = true;
    let rounds = 0;
    try {
      do {
        this.resyncWanted = false;
        const ids = Object.entries(this.store.cursors());
        for (let start = 0; start < ids.length; start += SYNC_CHUNK) {
          let more = true;
          let cursors = Object.fromEntries(ids.slice(start, start + SYNC_CHUNK));
          while (more) {
            const ack = (await this.socket
              .timeout(ACK_TIMEOUT_MS)
              .emitWithAck('sync', { cursors })) as AckReply<SyncAnswer>;
            if (!ack.ok) {
              // A conversation we were removed from meanwhile: drop it, then sync again.
              if (ack.error.code === 'not_found') {
                await this.dropConversationsLeft(Object.keys(cursors));
                this.resyncWanted = true;
                break;
              }
              throw new ApiError(sentence(ack.error.message), ack.error.code, 0);
            }
            for (const message of ack.messages) this.take(message);
            more = ack.more === true;
            cursors = Object.fromEntries(
              Object.keys(cursors).map((id) => [id, this.store.conversations.get(id)?.seenSeq ?? 0]),
            );
          }
        }
        // Bounded: a server that kept contradicting itself would otherwise hold the client here; the next connect
        // retries.
      } while (this.resyncWanted && ++rounds < MAX_SYNC_ROUNDS);
    } finally {
      this.syncing = false;
    }
  }

  private async lookUpPresence(userIds: string[]): Promise<void> {
    const others = userIds.filter((id) => id !== this.store.me?.id);
    for (let start = 0; start < others.length; start += PRESENCE_CHUNK) {
      const { presence } = await api.presence(others.slice(start, start + PRESENCE_CHUNK));
      for (const [userId, state] of Object.entries(presence)) this.store.setPresence(userId, state);
    }
  }

  /** The server closed the socket itself: a revoked or expired sign-in, or a restart. */
  private async serverClosed(): Promise<void> {
    try {
      await api.me();
      this.socket.connect();
    } catch (error) {
      if (error instanceof ApiError && error.status === 401) this.events.signedOut();
      else setTimeout(() => this.socket.connect(), RETRY_MS);
    }
  }

  /** Says what failed, unless it is the network being down, which the banner already says. */
  private report(error: unknown): void {
    if (error instanceof ApiError && error.code === 'network') return;
    this.events.notice(error instanceof Error ? error.message : 'Something went wrong.');
  }

  private setBanner(state: Banner): void {
    if (this.banner === state) return;
    this.banner = state;
    this.events.banner(state);
  }

  private readonly wentOffline = () => this.setBanner('offline');
  private readonly cameOnline = () => {
    this.setBanner('connecting');
    if (!this.socket.connected) this.socket.connect();
  };
}
