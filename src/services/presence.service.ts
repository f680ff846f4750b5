// Who is online. The realtime layer tracks sockets and provides the real source; until it is attached every
// user reads as offline.
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

export class PresenceService implements PresenceSource {
  private source: PresenceSource = offlinePresence;

  use(source: PresenceSource): void {
    this.source = source;
  }

  lookup(userIds: string[]): Promise<Record<string, PresenceEntry>> {
    return this.source.lookup([...new Set(userIds)]);
  }
}
