// Who is online. The realtime layer tracks sockets and provides the real source; until it is attached every
// user reads as offline.
import type { Database } from '../db/database.js';
import { usersSharingAConversation } from '../db/conversations.repository.js';
export interface PresenceEntry {
  status: 'online' | 'offline';
  lastSeenAt: string | null;
}

export interface PresenceSource {
  lookup(userIds: string[]): Promise<Record<string, PresenceEntry>>;
}

export const offlinePresence: PresenceSource = {
  async lookup(userIds) {
    return Object.fromEntries(userIds.map((id) => [id, { status: 'offline', lastSeenAt: null }]));
  },
};

const UNSEEN: PresenceEntry = { status: 'offline', lastSeenAt: null };

/** Presence is told only to users who share a conversation, over HTTP as in the socket events. */
export class PresenceService {
  private source: PresenceSource = offlinePresence;

  constructor(private readonly db: Database) {}

  use(source: PresenceSource): void {
    this.source = source;
  }

  /** Strangers (and unknown ids) read as offline, never seen: their presence is not the caller's business. */
  async lookup(callerId: string, userIds: string[]): Promise<Record<string, PresenceEntry>> {
    const asked = [...new Set(userIds)];
    // From the primary: a member removed a moment ago must not keep seeing presence from a lagging replica.
    const visible = new Set(await usersSharingAConversation(this.db.primary, callerId, asked));
    visible.add(callerId);
    const known = await this.source.lookup(asked.filter((id) => visible.has(id)));
    return Object.fromEntries(asked.map((id) => [id, known[id] ?? UNSEEN]));
  }
}
