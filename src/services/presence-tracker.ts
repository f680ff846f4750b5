// Who is online, counted by sockets. The realtime layer reports each authenticated socket's connect and
// disconnect; the tracker says when that was a user's first socket anywhere (online) or last one (offline), and
// answers GET /api/presence as a PresenceSource, so REST and events agree.
import type { Presence } from '../contract/presence.js';
import type { PresenceSource } from './presence.service.js';

export interface PresenceEvents {
  /** Users whose last sockets died with another process. */
  offline(userId: string, lastSeenAt: string): void;
  /** Users counted again after this process had been swept as dead while stalled. */
  online(userId: string): void;
}

/** A socket's admission: refused at the per-user cap, else counted as the user's first socket anywhere or not. */
export type Admission = 'refused' | 'first' | 'more';

export interface PresenceTracker extends PresenceSource {
  /** Counts a socket unless the user already has `maxSockets` anywhere; check and count are one atomic step. */
  admit(userId: string, maxSockets: number): Promise<Admission>;
  /** Uncounts a socket that closed at `at`; true when it was the user's last socket anywhere. */
  disconnected(userId: string, at: string): Promise<boolean>;
  /**
   * This process is closing: its sockets stay online until they are gone, but no longer count against the per-user
   * cap, so the same clients reconnecting to another process are admitted.
   */
  draining(): Promise<void>;
  /** Starts background work, which reports presence changes no socket event on this process caused. */
  start(events: PresenceEvents): Promise<void>;
  close(): Promise<void>;
}

/** One process: exact counts in memory (SOCKET_ADAPTER=memory). */
export class LocalPresence implements PresenceTracker {
  private readonly counts = new Map<string, number>();
  private readonly lastSeen = new Map<string, string>();

  async admit(userId: string, maxSockets: number): Promise<Admission> {
    const count = this.counts.get(userId) ?? 0;
    if (count >= maxSockets) return 'refused';
    this.counts.set(userId, count + 1);
    return count === 0 ? 'first' : 'more';
  }

  async disconnected(userId: string, at: string): Promise<boolean> {
    const count = (this.counts.get(userId) ?? 0) - 1;
    if (count > 0) {
      this.counts.set(userId, count);
      return false;
    }
    this.counts.delete(userId);
    this.lastSeen.set(userId, at);
    return true;
  }

  async lookup(userIds: string[]): Promise<Record<string, Presence>> {
    return Object.fromEntries(
      userIds.map((id) => [
        id,
        this.counts.has(id)
          ? { status: 'online', lastSeenAt: null }
          : { status: 'offline', lastSeenAt: this.lastSeen.get(id) ?? null },
      ]),
    );
  }

  /** One process: nowhere else to reconnect to. */
  async draining(): Promise<void> {}

  async start(): Promise<void> {}

  async close(): Promise<void> {}
}
