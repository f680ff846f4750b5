// Attaches socket.io to the API's HTTP server: adapter, handshake checks, limits, rooms, presence, metrics and
// the close that lets clients reconnect elsewhere with their session state. main.ts makes one call:
// `await attachRealtime(parley, server)`; the shutdown sequence closes it through parley.onClose.
import type http from 'node:http';
import type { IncomingMessage } from 'node:http';
import { Server } from 'socket.io';
import type { Parley } from '../app.js';
import { listConversationIdsOf, listRecentConversationIdsOf } from '../db/conversations.repository.js';
import { chooseAdapter } from './adapter.js';
import { feedHistoryCache } from './history-feed.js';
import { conversationRoom, familyRoom, userRoom, type ParleyServer, type ParleySocket } from './events.js';
import { clientIpOf, identify, OriginPolicy, PendingHandshakes } from './handshake.js';
import { limitEvents, registerHandlers } from './handlers.js';
import { createRealtimeMetrics } from './metrics.js';
import { LocalPresence, type Admission, type PresenceTracker } from './presence-tracker.js';
import { RedisPresence } from './presence-redis.js';
import { tokenBucket } from './rate-limit.js';
import { SocketBroadcaster } from './socket-broadcaster.js';
import { checkClusterJoined } from './split-check.js';
import { refuseOverCap } from './connection-cap.js';

// setTimeout takes at most 2^31-1 ms; longer expiries are re-armed.
const MAX_TIMER_MS = 2_147_483_647;

export interface Realtime {
  io: ParleyServer;
  adapter: string;
  /**
   * Tells every socket of this process that it is about to close, each with its own delay within
   * SOCKET_RECONNECT_SPREAD_MS, so thousands of clients do not reconnect to the other processes in one spike.
   */
  announceDraining(): void;
  /** Idempotent: stops accepting sockets, closes them, gives back presence. */
  close(): Promise<void>;
}

export async function attachRealtime(parley: Parley, server: http.Server): Promise<Realtime> {
  const { config } = parley;
  const settings = config.realtime;
  const log = parley.log.child({ module: 'realtime' });
  let connectedSockets = 0;
  const metrics = createRealtimeMetrics(parley.metrics.registry, settings.adapter, () => connectedSockets);
  const adapter = chooseAdapter(config, log, () => metrics.adapterError());
  const origins = new OriginPolicy(config.http.corsOrigins);
  const handshakes = new PendingHandshakes(settings.pendingPerIp, settings.connectTimeoutMs + 1_000, clientIpOf(parley.http));

  const io: ParleyServer = new Server(server, {
    serveClient: false,
    transports: [...settings.transports],
    maxHttpBufferSize: settings.maxPayloadBytes,
    connectTimeout: settings.connectTimeoutMs,
    allowRequest: (req, callback) => {
      if (!origins.allows(req)) callback('origin not allowed', false);
      else if (!handshakes.admit(req)) callback('too many pending connections from this address', false);
      else callback(null, true);
    },
    cors: origins.cors,
    // No connection state recovery: socket.io 4.8 replays a recovered session's missed packets, into the rooms it
    // had, before any middleware checks the credential (a removed member got messages posted after the removal).
    // Every (re)connection is a new socket whose rooms come from the database, and `sync` catches up.
    ...adapter.options,
  });
  adapter.attach?.(io);
  io.engine.on('connection', (connection: { request: IncomingMessage; once(event: 'close', listener: () => void): void }) => {
    connection.once('close', () => handshakes.settled(connection.request));
  });
  io.use(refuseOverCap(settings.maxConnections, () => connectedSockets));
  feedHistoryCache(io, parley.historyCache, adapter.connection);

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
  /** Sockets counted by presence whose connection has not opened yet: if it closes first, the count goes back. */
  const admitted = new WeakMap<ParleySocket, Admission>();
  const who = identify({ tokens: parley.tokens, http: parley.http, redis: parley.redis, origins });
  io.use((socket, next) => {
    who(socket)
      .then(async (identity) => {
        if (!identity || parley.revocations.isRevoked(identity.familyId)) return next(handshakeError('unauthorized', 'unauthorized'));
        // Loaded before the handshake completes and joined in the connection handler, synchronously: by the time
        // the client sees "connect" its socket is in these rooms, so nothing broadcast after that can miss it.
        // Bounded: the most recently active conversations only; `sync` joins the others a client names.
        conversationsFor.set(socket, await listRecentConversationIdsOf(parley.db.primary, identity.userId, settings.handshakeConversations));
        // Checked and counted in one step, so concurrent handshakes on every process and host share the cap.
        const admission = await presence.admit(identity.userId, settings.maxSocketsPerUser);
        if (admission === 'refused') return next(handshakeError('too_many_sockets', 'rate_limited'));
        const giveBack = () => void presence.disconnected(identity.userId, new Date().toISOString()).catch(() => undefined);
        // The client may have gone while we checked: socket.io then drops the socket without any event.
        if (socket.conn.readyState !== 'open') return giveBack();
        admitted.set(socket, admission);
        socket.conn.once('close', () => {
          if (admitted.delete(socket)) giveBack();
        });
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
    handshakes.settled(socket.conn.request);
    const first = admitted.get(socket) === 'first';
    admitted.delete(socket);
    const { userId } = socket.data;
    log.debug({ userId, socketId: socket.id }, 'socket connected');
    const expiry: { timer?: NodeJS.Timeout } = {};
    limitEvents(socket, tokenBucket(settings.eventsPerSec, settings.eventsBurst), metrics);
    joinRooms(socket, conversationsFor.get(socket) ?? []);
    registerHandlers(socket, {
      messages: parley.messages,
      messageChanges: parley.messageChanges,
      catchUp: parley.catchUp,
      metrics,
      log,
      syncPerSec: config.chat.syncPerSec,
      syncBurst: config.chat.syncBurst,
    });
    const counted = first ? announce(userId, 'online', null) : Promise.resolve();
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
    announceDraining() {
      presence.draining().catch((error: unknown) => log.warn({ err: error }, 'presence: could not mark this process draining'));
      for (const socket of io.of('/').sockets.values()) {
        socket.emit('server:draining', { reconnectInMs: Math.round(Math.random() * settings.reconnectSpreadMs) });
      }
    },
    close() {
      closing ??= (async () => {
        split?.cancel();
        // io.close() disconnects every socket (clients reconnect elsewhere and `sync`); it also closes the HTTP
        // server, which may already be closed by the shutdown sequence.
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
  log.info({ adapter: adapter.name }, 'socket.io attached');
  return realtime;
}

/** Disconnects the socket when its credential expires. */
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

/** Joins the user's room, the sign-in's room and one room per conversation, all from this handshake's checks. */
function joinRooms(socket: ParleySocket, conversationIds: string[]): void {
  const rooms = [userRoom(socket.data.userId), ...conversationIds.map(conversationRoom)];
  if (socket.data.familyId) rooms.push(familyRoom(socket.data.familyId));
  void socket.join(rooms);
}

const handshakeError = (message: string, code: string) => Object.assign(new Error(message), { data: { code } });

const delay = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms).unref());
