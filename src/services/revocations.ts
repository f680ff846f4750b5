// Sign-ins revoked anywhere (logout, refresh-token reuse), known to every process and host within a poll.
// The database is the record: revoking a refresh family sets its revoked_at, on whichever process did it. Each
// process reads the families revoked since its last look every REVOCATION_POLL_MS and keeps them in memory for as
// long as a credential of theirs can still be presented (an access token's TTL, or a cookie session's when that
// is longer), so the check on every request, socket handshake and cookie session is a Map lookup. No Redis:
// revocations survive a Redis restart, and a deployment without Redis shares them through the database too.
import type { Logger } from '../core/logger.js';
import { OutageLog } from '../core/outage-log.js';

export interface RevokedFamily {
  id: string;
  revokedAt: Date;
}

export interface RevocationSource {
  /** Families revoked after `since` (by the database's clock), and that clock's reading when asked. */
  revokedSince(since: Date): Promise<{ families: RevokedFamily[]; now: Date }>;
}

/**
 * A revocation's revoked_at is set by its statement before its transaction commits, so a poll can run between the
 * two and miss it on the next "since". Each poll looks back this far past the last reading, which covers any
 * transaction shorter than the statement timeout with room to spare; re-reading a family is harmless.
 */
const LOOK_BACK_MS = 30_000;

export class Revocations {
  /** Family id -> when it may be forgotten (ms since the epoch). */
  private readonly revoked = new Map<string, number>();
  private since: Date;
  private timer?: NodeJS.Timeout;
  private polling = false;
  private readonly outage: OutageLog;

  constructor(
    private readonly source: RevocationSource,
    /** How long a revoked family's credentials stay presentable. */
    private readonly keepMs: number,
    private readonly pollMs: number,
    log: Logger,
  ) {
    this.since = new Date(Date.now() - keepMs);
    // While the database is unreachable the revocations already known stay in force; new ones from other
    // processes wait for it, as does login.
    this.outage = new OutageLog(log, 'revoked sign-ins (polling the database)');
  }

  isRevoked(familyId: string | undefined): boolean {
    return familyId !== undefined && this.revoked.has(familyId);
  }

  /** Records a revocation made by this process at once (the database has it already). */
  add(familyId: string, revokedAt = new Date()): void {
    this.revoked.set(familyId, revokedAt.getTime() + this.keepMs);
  }

  /** Loads every revocation still in force, then keeps polling. */
  async start(): Promise<void> {
    await this.poll();
    this.timer = setInterval(() => {
      // A slow database must not pile polls up: skip a tick while the last one is still out.
      if (this.polling) return;
      this.polling = true;
      this.poll()
        .then(
          () => this.outage.recovered(),
          (error: unknown) => this.outage.failed(error),
        )
        .finally(() => (this.polling = false));
    }, this.pollMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  private async poll(): Promise<void> {
    const { families, now } = await this.source.revokedSince(this.since);
    for (const family of families) this.add(family.id, family.revokedAt);
    this.since = new Date(now.getTime() - LOOK_BACK_MS);
    const current = Date.now();
    for (const [id, forgetAt] of this.revoked) if (forgetAt <= current) this.revoked.delete(id);
  }
}
