// Attaches socket.io to the API's HTTP server: adapter, handshake checks, limits, rooms, presence, metrics and
// the close that lets clients reconnect elsewhere with their session state. main.ts makes one call:
// `await attachRealtime(parley, server)`; the shutdown sequence closes it through parley.onClose.
import type http from 'node:http';
import { Server } from 'socket.io';
import type { Parley } from '../app.js';
import { listConversationIdsOf } from '../db/conversations.repository.js';
import { chooseAdapter } from './adapter.js';
import { conversationRoom, familyRoom, userRoom, type ParleyServer, type ParleySocket } from './events.js';
import { identify, originAllowed } from './handshake.js';
import { limitEvents, registerHandlers } from './handlers.js';
import { createRealtimeMetrics } from './metrics.js';
import { LocalPresence, type PresenceTracker } from './presence-tracker.js';
import { RedisPresence } from './presence-redis.js';
import { tokenBucket } from './rate-limit.js';
import { SocketBroadcaster } from './socket-broadcaster.js';
import { checkClusterJoined } from './split-check.js';

// setTimeout takes at most 2^31-1 ms; longer expiries are re-armed.
const MAX_TIMER_MS = 2_147_483_647;

export interface Realtime {
  io: ParleyServer;
  adapter: string;
  /** Idempotent: stops accepting sockets, closes them (saving recovery sessions), gives back presence. */
  close(): Promise<void>;
}

export async function attachRealtime(parley: Parley, server: http.Server): Promise<Realtime> {
  const { config } = parley;
  const settings = config.realtime;
  const log = parley.log.child({ module: 'realtime' });
  let connectedSockets = 0;
  const metrics = createRealtimeMetrics(parley.metrics.registry, settings.adapter, () => connectedSockets);
  const adapter = chooseAdapter(config, log, () => metrics.adapterError());
  const origins = config.http.corsOrigins;

  const io: ParleyServer = new Server(server, {
    serveClient: false,
    transports: [...settings.transports],
    maxHttpBufferSize: settings.maxPayloadBytes,
    allowRequest: originAllowed(origins),
    cors: { origin: origins.includes('*') ? true : [...origins], credentials: true },
    // Middlewares run again on a recovered session, so its credential is checked like a new one.
    ...(adapter.recovery ? { connectionStateRecovery: { maxDisconnectionDuration: settings.recoveryMs, skipMiddlewares: false } } : {}),
    ...adapter.options,
  });
  adapter.attach?.(io);

  const presence: PresenceTracker = parley.redis
    ? new RedisPresence(parley.redis, settings.presenceTtlSec, log.child({ module: 'presence' }))
    : new LocalPresence();
  const broadcaster = new SocketBroadcaster(io, metrics, adapter.orderedPublish);
  const conversationsOf = (userId: string) => listConversationIdsOf(parley.db.primary, userId);
  const announce = (userId: string, status: 'online' | 'offline', lastSeenAt: string | null) =>
    conversationsOf(userId)
      .then((ids) => broadcaster.presenceChanged(userId, ids, status, lastSeenAt))
      .catch((error: unknown) => log.warn({ err: error, userId }, 'presence announce failed'));

  const conversationsFor = new WeakMap<ParleySocket, string[]>();
  const who = identify({ tokens: parley.tokens, http: parley.http, redis: parley.redis });
  io.use((socket, next) => {
    who(socket)
      .then(async (identity) => {
        if (!identity) return next(Object.assign(new Error('unauthorized'), { data: { code: 'unauthorized' } }));
        if ((await presence.socketCount(identity.userId)) >= settings.maxSocketsPerUser) {
          return next(Object.assign(new Error('too_many_sockets'), { data: { code: 'rate_limited' } }));
        }
        // Loaded before the handshake completes and joined in the connection handler, synchronously: by the time
        // the client sees "connect" its socket is in every room, so nothing broadcast after that can miss it.
        conversationsFor.set(socket, await conversationsOf(identity.userId));
        socket.data.userId = identity.userId;
        socket.data.expiresAt = identity.expiresAt;
        socket.data.familyId = identity.familyId;
        next();
      })
      .catch((error: unknown) => {
        log.error({ err: error }, 'socket handshake failed');
        next(new Error('internal'));
      });
  });

  const pending = new Set<Promise<unknown>>();
  const track = (work: Promise<unknown>) => {
    pending.add(work);
    void work.finally(() => pending.delete(work)).catch(() => undefined);
  };

  io.on('connection', (socket) => {
    connectedSockets += 1;
    const { userId } = socket.data;
    log.debug({ userId, socketId: socket.id, recovered: socket.recovered }, 'socket connected');
    const expiry: { timer?: NodeJS.Timeout } = {};
    limitEvents(socket, tokenBucket(settings.eventsPerSec, settings.eventsBurst), metrics);
    joinRooms(socket, conversationsFor.get(socket) ?? []);
    registerHandlers(socket, { messages: parley.messages, metrics, log });
    // A failure (Redis down) leaves the socket counted locally but not in Redis: a later restore puts it in, and
    // until then its uncount may take the count of the user's other socket on this process (see presence-redis).
    const counted = presence
      .connected(userId)
      .then((first) => (first ? announce(userId, 'online', null) : undefined))
      .catch((error: unknown) => log.warn({ err: error, userId }, 'presence count failed'));
    track(counted);
    socket.on('disconnect', () => {
      connectedSockets -= 1;
      clearTimeout(expiry.timer);
      // Uncounted after a grace period: a client that reconnects at once (a reload, a network blip) does not
      // flap offline/online, and a new socket being counted on another process is not overtaken.
      const lastSeenAt = new Date().toISOString();
      const gone = Promise.all([counted, delay(settings.presenceGraceMs)])
        .then(() => presence.disconnected(userId, lastSeenAt))
        .then((last) => (last ? announce(userId, 'offline', lastSeenAt) : undefined))
        .catch((error: unknown) => log.warn({ err: error, userId }, 'presence update failed'));
      track(gone);
    });
    expireAt(socket, socket.data.expiresAt, expiry);
  });

  await presence.start({
    offline: (userId, lastSeenAt) => void announce(userId, 'offline', lastSeenAt),
    online: (userId) => void announce(userId, 'online', null),
  });
  parley.broadcasts.use(broadcaster);
  parley.presence.use(presence);
  parley.health.addProbe('sockets', () => metrics.snapshot());

  const split = adapter.name === 'cluster' ? checkClusterJoined(io, settings.clusterInstances, settings.clusterGraceMs) : undefined;
  split?.done.then(
    (servers) => log.info({ servers }, 'socket.io cluster adapter sees every worker'),
    (error: Error) => {
      // Running split would lose deliveries silently; better a loud crash PM2 reports.
      log.fatal({ err: error }, 'socket.io cluster is split; exiting');
      process.exit(70);
    },
  );

  let closing: Promise<void> | undefined;
  const realtime: Realtime = {
    io,
    adapter: adapter.name,
    close() {
      closing ??= (async () => {
        split?.cancel();
        // io.close() disconnects with "server shutting down", the reason that saves recovery sessions; it also
        // closes the HTTP server, which may already be closed by the shutdown sequence.
        await new Promise<void>((resolve) => void io.close(() => resolve()));
        // Presence updates in flight get a moment; the ones still waiting out their grace period are covered by
        // presence.close(), which gives back every count of this process at once.
        await Promise.race([Promise.allSettled([...pending]), delay(300)]);
        await presence.close().catch((error: unknown) => log.warn({ err: error }, 'presence close failed'));
        await adapter.close();
      })();
      return closing;
    },
  };
  // Closed by the shutdown sequence (ops/shutdown.ts) after HTTP requests drained, not on the signal itself:
  // io.close() also closes the HTTP server and its idle keep-alive sockets, which must wait for the drain grace.
  parley.onClose('socket.io', () => realtime.close());
  log.info({ adapter: adapter.name, recovery: adapter.recovery }, 'socket.io attached');
  return realtime;
}

/** Disconnects the socket when its credential expires, recovered sessions included. */
function expireAt(socket: ParleySocket, expiresAtSec: number, handle: { timer?: NodeJS.Timeout }): void {
  const arm = () => {
    const left = expiresAtSec * 1000 - Date.now();
    if (left <= 0) {
      socket.disconnect(true);
      return;
    }
    handle.timer = setTimeout(arm, Math.min(left, MAX_TIMER_MS));
  };
  arm();
}

/** Joins the user's room, the sign-in's room and one room per conversation; leaves rooms a recovered session kept from before. */
function joinRooms(socket: ParleySocket, conversationIds: string[]): void {
  const wanted = new Set([userRoom(socket.data.userId), ...conversationIds.map(conversationRoom)]);
  if (socket.data.familyId) wanted.add(familyRoom(socket.data.familyId));
  for (const room of socket.rooms) if (room.startsWith('conv:') && !wanted.has(room)) void socket.leave(room);
  void socket.join([...wanted]);
}

const delay = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms).unref());
