// Tells a user's conversations when they come online or go offline. A socket's disconnect is uncounted only after
// a grace period: a client that reconnects at once (a reload, a network blip) does not flap offline/online, and a
// new socket being counted on another process is not overtaken.
import type { PresenceStatus } from '../contract/presence.js';
import { settledWithin } from '../core/deadline.js';
import type { Logger } from '../core/logger.js';
import type { PresenceTracker } from '../services/presence-tracker.js';
import type { SocketBroadcaster } from './socket-broadcaster.js';

export interface PresenceAnnouncerDeps {
  tracker: PresenceTracker;
  broadcaster: SocketBroadcaster;
  conversationIdsOf(userId: string): Promise<string[]>;
  graceMs: number;
  log: Logger;
}

export class PresenceAnnouncer {
  private readonly pending = new Set<Promise<unknown>>();

  constructor(private readonly deps: PresenceAnnouncerDeps) {}

  announce(userId: string, status: PresenceStatus, lastSeenAt: string | null): Promise<void> {
    return this.deps
      .conversationIdsOf(userId)
      .then((ids) => this.deps.broadcaster.presenceChanged(userId, ids, status, lastSeenAt))
      .catch((error: unknown) => this.deps.log.warn({ err: error, userId }, 'presence announce failed'));
  }

  /** A socket connected; `first` when it was the user's first anywhere. Returns when that was announced. */
  connected(userId: string, first: boolean): Promise<void> {
    return this.track(first ? this.announce(userId, 'online', null) : Promise.resolve());
  }

  /** A socket closed: uncounted after the grace period (and after its own online announcement). */
  disconnected(userId: string, counted: Promise<void>): void {
    const lastSeenAt = new Date().toISOString();
    void this.track(
      Promise.all([counted, delay(this.deps.graceMs)])
        .then(() => this.deps.tracker.disconnected(userId, lastSeenAt))
        .then((last) => (last ? this.announce(userId, 'offline', lastSeenAt) : undefined))
        .catch((error: unknown) => this.deps.log.warn({ err: error, userId }, 'presence update failed')),
    );
  }

  /**
   * At close: updates in flight get a moment; the ones still waiting out their grace period are covered by the
   * tracker's close, which gives back every count of this process at once.
   */
  async settle(ms: number): Promise<void> {
    await settledWithin(Promise.allSettled([...this.pending]), ms);
  }

  private track<T>(work: Promise<T>): Promise<T> {
    this.pending.add(work);
    void work.finally(() => this.pending.delete(work)).catch(() => undefined);
    return work;
  }
}

const delay = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms).unref());
