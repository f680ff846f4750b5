// Who is online, as the realtime layer's presence tracker counts sockets, told only to users who share a
// conversation.
import type { Presence } from '../contract/presence.js';
import type { Database } from '../db/database.js';
import { usersSharingAConversation } from '../db/conversations.repository.js';

export interface PresenceSource {
  lookup(userIds: string[]): Promise<Record<string, Presence>>;
}

const UNSEEN: Presence = { status: 'offline', lastSeenAt: null };

/** Presence is told only to users who share a conversation, over HTTP as in the socket events. */
export class PresenceService {
  constructor(
    private readonly db: Database,
    private readonly source: PresenceSource,
  ) {}

  /** Strangers (and unknown ids) read as offline, never seen: their presence is not the caller's business. */
  async lookup(callerId: string, userIds: string[]): Promise<Record<string, Presence>> {
    const asked = [...new Set(userIds)];
    // From the primary: a member removed a moment ago must not keep seeing presence from a lagging replica.
    const visible = new Set(await usersSharingAConversation(this.db.primary, callerId, asked));
    visible.add(callerId);
    const known = await this.source.lookup(asked.filter((id) => visible.has(id)));
    return Object.fromEntries(asked.map((id) => [id, known[id] ?? UNSEEN]));
  }
}
