// The Broadcaster services announce through, delivered by socket.io. Everything goes to rooms through the
// adapter, so each member socket on every process and host receives an event exactly once (a socket in several
// targeted rooms still gets one copy), whether the change came from a socket or from REST.
import type { Conversation } from '../contract/conversations.js';
import type { Message } from '../contract/messages.js';
import type { PresenceStatus } from '../contract/presence.js';
import type { Broadcaster } from '../services/broadcaster.js';
import { conversationRoom, familyRoom, userRoom, type ParleyServer } from './events.js';
import type { RealtimeMetrics } from './metrics.js';
import type { OrderedPublish } from './stream-publisher.js';

export class SocketBroadcaster implements Broadcaster {
  constructor(
    private readonly io: ParleyServer,
    private readonly metrics: RealtimeMetrics,
    private readonly orderedPublish?: OrderedPublish,
  ) {}

  /** Runs under the conversations' send locks (see SendBatcher), so emits follow seq order. */
  async messagesCreated(messages: readonly Message[]): Promise<void> {
    this.metrics.eventOut('message:new', messages.length);
    if (this.orderedPublish) {
      const broadcasts = messages.map((message) => ({
        rooms: [conversationRoom(message.conversationId)],
        event: 'message:new',
        payload: { message },
      }));
      // Stored already; a client that misses the event gets it from sync.
      await this.orderedPublish(broadcasts).catch(() => this.metrics.adapterError());
    } else
      for (const message of messages)
        this.io.to(conversationRoom(message.conversationId)).emit('message:new', { message });
  }

  /** Runs under the conversation's send lock, through the same ordered path as message:new. */
  async messageChanged(message: Message): Promise<void> {
    this.metrics.eventOut('message:updated');
    const rooms = [conversationRoom(message.conversationId)];
    if (this.orderedPublish)
      await this.orderedPublish([{ rooms, event: 'message:updated', payload: { message } }]).catch(() =>
        this.metrics.adapterError(),
      );
    else this.io.to(rooms).emit('message:updated', { message });
  }

  readAdvanced(conversationId: string, userId: string, seq: number): void {
    this.io.to(conversationRoom(conversationId)).emit('read', { conversationId, userId, seq });
    this.metrics.eventOut('read');
  }

  /**
   * Join first, then tell: both travel in order through the adapter, so later messages reach the new member. The
   * members already there (bystanders) get the new member list; the new members' sockets are excepted, since
   * conversation:new carries the same conversation.
   */
  membersAdded(conversation: Conversation, userIds: string[]): void {
    const rooms = userIds.map(userRoom);
    this.io.in(rooms).socketsJoin(conversationRoom(conversation.id));
    this.io.to(rooms).emit('conversation:new', { conversation });
    this.metrics.eventOut('conversation:new');
    this.io.to(conversationRoom(conversation.id)).except(rooms).emit('conversation:updated', { conversation });
    this.metrics.eventOut('conversation:updated');
  }

  /** Leave first, so the removed user's sockets do not get the remaining members' conversation:updated. */
  memberRemoved(conversationId: string, userId: string, conversation?: Conversation): void {
    this.io.in(userRoom(userId)).socketsLeave(conversationRoom(conversationId));
    this.io.to(userRoom(userId)).emit('conversation:removed', { conversationId });
    this.metrics.eventOut('conversation:removed');
    if (conversation) this.conversationChanged(conversation);
  }

  conversationChanged(conversation: Conversation): void {
    this.io.to(conversationRoom(conversation.id)).emit('conversation:updated', { conversation });
    this.metrics.eventOut('conversation:updated');
  }

  /** Closes the sign-in's sockets on every process; the client does not reconnect after a server disconnect. */
  signedOut(familyId: string): void {
    this.io.in(familyRoom(familyId)).disconnectSockets(true);
  }

  /** To everyone who shares a conversation with the user, except the user's own sockets. */
  presenceChanged(userId: string, conversationIds: string[], status: PresenceStatus, lastSeenAt: string | null): void {
    if (conversationIds.length === 0) return;
    this.io
      .to(conversationIds.map(conversationRoom))
      .except(userRoom(userId))
      .emit('presence', { userId, status, lastSeenAt });
    this.metrics.eventOut('presence');
  }
}
