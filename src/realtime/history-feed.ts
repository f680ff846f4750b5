// Feeds the hot-history cache (services/history-cache.ts) with the events this process delivers, whoever caused
// them: the adapter's broadcast() sees what this process emits, its onMessage() what arrives from other processes
// and hosts (the Redis Streams adapter's ordered `message:new` entries come back to every process that way, this
// one included). Both are wrapped on the default namespace's adapter instance; nothing else changes.
import type { Adapter } from 'socket.io-adapter';
import type { Message } from '../contract/messages.js';
import type { HistoryCache } from '../services/history-cache.js';
import type { ParleyServer } from './events.js';

// socket.io-adapter's MessageType.BROADCAST and socket.io-parser's PacketType.EVENT.
const BROADCAST = 3;
const EVENT = 2;

type Packet = { type?: number; data?: unknown[] };
type ClusterMessage = { type?: number; data?: { packet?: Packet } };

/** What the cache must hear about: new messages, edits/deletes, and membership changes. */
export function deliverToCache(cache: HistoryCache, packet: Packet | undefined): void {
  if (packet?.type !== EVENT || !Array.isArray(packet.data)) return;
  const [event, payload] = packet.data as [string, Record<string, unknown> | undefined];
  switch (event) {
    case 'message:new':
      if (payload?.message) cache.messageCreated(payload.message as Message);
      break;
    case 'message:updated':
      if (payload?.message) cache.messageUpdated(payload.message as Message);
      break;
    case 'conversation:new':
      if (payload?.conversation) cache.membershipChanged((payload.conversation as { id: string }).id);
      break;
    case 'conversation:removed':
      if (payload?.conversationId) cache.membershipChanged(payload.conversationId as string);
      break;
  }
}

/**
 * Wraps the adapter so the cache sees every event, and makes the cache live only while `connected()` says the
 * adapter can deliver (for Redis: its connection is ready); every drop clears the cache.
 */
export function feedHistoryCache(
  io: ParleyServer,
  cache: HistoryCache,
  connection: { connected(): boolean; onChange(listener: (connected: boolean) => void): void },
): void {
  if (!cache.enabled) return;
  const adapter = io.of('/').adapter as Adapter & { onMessage?: (message: ClusterMessage, offset?: string) => unknown };
  const broadcast = adapter.broadcast.bind(adapter);
  adapter.broadcast = (packet, opts) => {
    deliverToCache(cache, packet as Packet);
    return broadcast(packet, opts);
  };
  if (adapter.onMessage) {
    const onMessage = adapter.onMessage.bind(adapter);
    adapter.onMessage = (message, offset) => {
      if (message?.type === BROADCAST) deliverToCache(cache, message.data?.packet);
      return onMessage(message, offset);
    };
  }
  cache.setLive(connection.connected());
  connection.onChange((connected) => cache.setLive(connected, 'adapter reconnect'));
}
