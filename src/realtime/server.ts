// The socket.io server on the API's HTTP server, built by the composition root (app.ts) in two steps:
//  1. createRealtime: the server, its adapter, the checks before any credential (origin, pending handshakes per
//     address, the process's connection cap), presence and the broadcaster services announce through;
//  2. serve: the handshake admission (admission.ts) and each connection (connection.ts), once the services exist.
// It is closed by the lifecycle (lifecycle.ts) after HTTP requests drained.
import type http from 'node:http';
import type { IncomingMessage } from 'node:http';
import type { Redis } from 'ioredis';
import { Server } from 'socket.io';
import type { Registry } from 'prom-client';
import type { Config } from '../config.js';
import type { Logger } from '../core/logger.js';
import type { HistoryCache } from '../services/history-cache.js';
import { chooseAdapter, type AdapterChoice, type SplitCheck } from './adapter.js';
import { socketAdmission } from './admission.js';
import { serveConnection, type ConnectionDeps } from './connection.js';
import { refuseOverCap } from './connection-cap.js';
import type { ParleyServer, ParleySocket } from './events.js';
import { OriginPolicy, PendingHandshakes, type Identity } from './handshake.js';
import { feedHistoryCache } from './history-feed.js';
import { createRealtimeMetrics, type RealtimeMetrics } from './metrics.js';
import { PresenceAnnouncer } from './presence-announcer.js';
import { RedisPresence } from '../services/presence-redis.js';
import { LocalPresence, type PresenceTracker } from '../services/presence-tracker.js';
import { SocketBroadcaster } from './socket-broadcaster.js';

export interface RealtimeDeps {
  config: Config;
  redis?: Redis;
  registry: Registry;
  historyCache: HistoryCache;
  /** The client address as the HTTP API reads it (TRUST_PROXY), for the pending-handshake count per address. */
  clientIp(req: IncomingMessage): string;
  log: Logger;
}

/** What the handshake and each connection need from the services. */
export interface RealtimeServices extends Omit<
  ConnectionDeps,
  'presence' | 'metrics' | 'log' | 'eventsPerSec' | 'eventsBurst'
> {
  identify(socket: ParleySocket): Promise<Identity | undefined>;
  isRevoked(familyId: string | undefined): boolean;
  conversationIdsOf(userId: string): Promise<string[]>;
  recentConversationIdsOf(userId: string, limit: number): Promise<string[]>;
}

export class Realtime {
  readonly io: ParleyServer;
  readonly adapter: AdapterChoice['name'];
  /** What services announce through. */
  readonly broadcaster: SocketBroadcaster;
  /** Sockets per user on every process: GET /api/presence reads it. */
  readonly presence: PresenceTracker;
  /** SOCKET_ADAPTER=cluster: settles once every worker is seen, or rejects when the cluster is split. */
  readonly clusterJoined?: Promise<number>;
  /** Which browser origins may open a socket (and with cookies): the cookie handshake checks it too. */
  readonly origins: OriginPolicy;
  private readonly handshakes: PendingHandshakes;
  private readonly choice: AdapterChoice;
  private readonly split?: SplitCheck;
  private readonly metrics: RealtimeMetrics;
  private readonly log: Logger;
  private readonly settings: Config['realtime'];
  private announcer?: PresenceAnnouncer;
  private connectedSockets = 0;
  private closing?: Promise<void>;

  constructor(server: http.Server, deps: RealtimeDeps) {
    const { config } = deps;
    this.settings = config.realtime;
    this.log = deps.log.child({ module: 'realtime' });
    this.metrics = createRealtimeMetrics(deps.registry, this.settings.adapter, () => this.connectedSockets);
    this.choice = chooseAdapter(config, this.log, () => this.metrics.adapterError());
    this.adapter = this.choice.name;
    const origins = (this.origins = new OriginPolicy(config.http.corsOrigins));
    const handshakes = (this.handshakes = new PendingHandshakes(
      this.settings.pendingPerIp,
      this.settings.connectTimeoutMs + 1_000,
      deps.clientIp,
    ));
    this.io = new Server(server, {
      serveClient: false,
      transports: [...this.settings.transports],
      maxHttpBufferSize: this.settings.maxPayloadBytes,
      connectTimeout: this.settings.connectTimeoutMs,
      allowRequest: (req, callback) => {
        if (!origins.allows(req)) callback('origin not allowed', false);
        else if (!handshakes.admit(req)) callback('too many pending connections from this address', false);
        else callback(null, true);
      },
      cors: origins.cors,
      // No connection state recovery: socket.io 4.8 replays a recovered session's missed packets, into the rooms
      // it had, before any middleware checks the credential (a removed member got messages posted after the
      // removal). Every (re)connection is a new socket whose rooms come from the database, and `sync` catches up.
      ...this.choice.options,
    });
    this.split = this.choice.attach?.(this.io);
    this.clusterJoined = this.split?.done;
    this.io.engine.on(
      'connection',
      (connection: { request: IncomingMessage; once(event: 'close', listener: () => void): void }) => {
        connection.once('close', () => handshakes.settled(connection.request));
      },
    );
    this.io.use(refuseOverCap(this.settings.maxConnections, () => this.connectedSockets));
    feedHistoryCache(this.io, deps.historyCache, this.choice.connection);
    this.presence = deps.redis
      ? new RedisPresence(deps.redis, this.settings.presenceTtlSec, this.log.child({ module: 'presence' }))
      : new LocalPresence();
    this.broadcaster = new SocketBroadcaster(this.io, this.metrics, this.choice.orderedPublish);
  }

  /** Admits sockets and serves their events with the services; starts presence. */
  async serve(services: RealtimeServices): Promise<void> {
    const announcer = new PresenceAnnouncer({
      tracker: this.presence,
      broadcaster: this.broadcaster,
      conversationIdsOf: services.conversationIdsOf,
      graceMs: this.settings.presenceGraceMs,
      log: this.log,
    });
    this.announcer = announcer;
    const admission = socketAdmission({
      identify: services.identify,
      isRevoked: services.isRevoked,
      recentConversationIdsOf: services.recentConversationIdsOf,
      tracker: this.presence,
      maxSocketsPerUser: this.settings.maxSocketsPerUser,
      handshakeConversations: this.settings.handshakeConversations,
      log: this.log,
    });
    this.io.use(admission.middleware);
    const connectionDeps: ConnectionDeps = {
      ...services,
      presence: announcer,
      metrics: this.metrics,
      log: this.log,
      eventsPerSec: this.settings.eventsPerSec,
      eventsBurst: this.settings.eventsBurst,
    };
    this.io.on('connection', (socket) => {
      this.connectedSockets += 1;
      this.handshakes.settled(socket.conn.request);
      socket.on('disconnect', () => (this.connectedSockets -= 1));
      serveConnection(socket, admission.take(socket), connectionDeps);
    });
    await this.presence.start({
      offline: (userId, lastSeenAt) => void announcer.announce(userId, 'offline', lastSeenAt),
      online: (userId) => void announcer.announce(userId, 'online', null),
    });
    this.log.info({ adapter: this.adapter }, 'socket.io serving');
  }

  /** Sockets of this process now, for /health. */
  snapshot() {
    return this.metrics.snapshot();
  }

  /**
   * Tells every socket of this process that it is about to close, each with its own delay within
   * SOCKET_RECONNECT_SPREAD_MS, so thousands of clients do not reconnect to the other processes in one spike. Its
   * sockets stop counting against the per-user cap, so the same clients are admitted elsewhere.
   */
  announceDraining(): void {
    this.presence
      .draining()
      .catch((error: unknown) => this.log.warn({ err: error }, 'presence: could not mark this process draining'));
    for (const socket of this.io.of('/').sockets.values()) {
      socket.emit('server:draining', { reconnectInMs: Math.round(Math.random() * this.settings.reconnectSpreadMs) });
    }
  }

  /** Idempotent: stops accepting sockets, closes them (clients reconnect elsewhere and `sync`), gives back presence. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      this.split?.cancel();
      // io.close() also closes the HTTP server, which the shutdown sequence may have closed already.
      await new Promise<void>((resolve) => void this.io.close(() => resolve()));
      await this.announcer?.settle(300);
      await this.presence.close().catch((error: unknown) => this.log.warn({ err: error }, 'presence close failed'));
      await this.choice.close();
    })();
    return this.closing;
  }
}
