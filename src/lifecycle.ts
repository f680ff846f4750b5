// What a process opens, and the one order it closes it in: on shutdown and after a failed start alike. Whoever
// opens a resource registers its closer under its stage's name (app.ts, main.ts); the order is declared here
// alone, not by the order registrations happen to run in. Sockets go first (clients reconnect elsewhere while the
// pools still serve their last events), the pools and clients they use last.
import type { Logger } from './core/logger.js';

export const CLOSE_ORDER = [
  'realtime',
  'revocations',
  'search re-index',
  'attachment sweep',
  'job queues',
  // Thumbnails in flight on the pool still write to the store.
  'worker pool',
  // Uploads still being received write into the store's incoming/ directory.
  'upload threads',
  'attachment store',
  'memory guard',
  'metrics',
  'database',
  'redis',
  'embedded database',
] as const;

export type Stage = (typeof CLOSE_ORDER)[number];

export class Lifecycle {
  private readonly closers = new Map<Stage, Array<() => Promise<void> | void>>();
  private closing?: Promise<void>;

  constructor(private readonly log: Logger) {}

  /** Registers what to close at `stage`; several closers of one stage run in registration order. */
  own(stage: Stage, closer: () => Promise<void> | void): void {
    this.closers.set(stage, [...(this.closers.get(stage) ?? []), closer]);
  }

  /** The stages that have something to close, in the order they will close. */
  registered(): Stage[] {
    return CLOSE_ORDER.filter((stage) => this.closers.has(stage));
  }

  /** Closes every stage in CLOSE_ORDER; a closer that fails is logged and the rest still run. Idempotent. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      for (const stage of CLOSE_ORDER) {
        for (const closer of this.closers.get(stage) ?? []) {
          try {
            await closer();
          } catch (error) {
            this.log.error({ err: error, resource: stage }, 'close failed');
          }
        }
      }
    })();
    return this.closing;
  }

  /** Runs `start`; if it throws, closes whatever was opened so far (in the same order) and rethrows. */
  async starting<T>(start: () => Promise<T>): Promise<T> {
    try {
      return await start();
    } catch (error) {
      await this.close();
      throw error;
    }
  }
}
