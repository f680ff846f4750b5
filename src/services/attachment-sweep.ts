// The periodic sweep of attachments: uploads never attached within ATTACHMENT_ORPHAN_TTL are marked deleted, and
// the objects of rows deleted more than ATTACHMENT_DELETE_GRACE ago (detached by a message deletion, or swept
// orphans) are removed from the store, then their rows. Every process sweeps; rows another one is purging are
// skipped (SKIP LOCKED), and deleting an object twice is harmless. A store that fails keeps its rows for the
// next round: a row goes only after its objects did.
import type { Logger } from '../core/logger.js';
import type { Database } from '../db/database.js';
import { deleteRows, lockPurgeBatch, markOrphansDeleted } from '../db/attachments.repository.js';
import type { TimedStore } from '../storage/timed-store.js';

export interface SweepSettings {
  orphanTtlSec: number;
  deleteGraceSec: number;
  sweepIntervalMs: number;
}

const PURGE_BATCH = 100;

export class AttachmentSweep {
  private timer?: NodeJS.Timeout;
  private running?: Promise<unknown>;
  private readonly stopped = new AbortController();

  constructor(
    private readonly db: Database,
    private readonly store: TimedStore,
    private readonly settings: SweepSettings,
    private readonly log: Logger,
  ) {}

  start(): this {
    this.timer = setInterval(() => {
      this.running ??= this.sweep()
        .catch((error: unknown) => this.log.warn({ err: error }, 'attachment sweep failed; retried next round'))
        .finally(() => {
          this.running = undefined;
        });
    }, this.settings.sweepIntervalMs);
    this.timer.unref();
    return this;
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.stopped.abort();
    await this.running;
  }

  /** One round: orphans marked, then the expired rows' objects and rows removed, batch by batch. */
  async sweep(): Promise<{ orphaned: number; purged: number }> {
    const orphaned = await markOrphansDeleted(this.db.primary, this.settings.orphanTtlSec);
    let purged = 0;
    while (!this.stopped.signal.aborted) {
      const count = await this.db.withTransaction(async (tx) => {
        const targets = await lockPurgeBatch(tx, this.store.kind, this.settings.deleteGraceSec, PURGE_BATCH);
        for (const target of targets) for (const key of target.keys) await this.store.delete(key);
        await deleteRows(
          tx,
          targets.map((target) => target.id),
        );
        return targets.length;
      });
      purged += count;
      if (count < PURGE_BATCH) break;
    }
    if (orphaned + purged > 0) this.log.info({ orphaned, purged }, 'attachment sweep');
    return { orphaned, purged };
  }
}
