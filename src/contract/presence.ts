// Presence (docs/API.md: GET /api/presence and the `presence` socket event).

export type PresenceStatus = 'online' | 'offline';

export interface Presence {
  status: PresenceStatus;
  lastSeenAt: string | null;
}

/** s→c `presence`: a user's first socket anywhere connected, or their last one went. */
export interface PresenceEvent extends Presence {
  userId: string;
}
