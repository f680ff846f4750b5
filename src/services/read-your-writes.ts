// Read-your-writes across replicas, processes and hosts. After a user's write commits, the user gets a fence: the
// primary's WAL position then (and, for a send, the conversation's seq). Until the fence expires, that user's
// lag-tolerant reads go only to a replica that has replayed past the position (else the primary), and the history
// cache serves them only if it already holds that seq. The fence lives in this process (the next request usually
// lands here) and in a short-lived Redis hash, so a request that lands on another process or host knows too.
//
// The fence outlives the point where it matters: a replica in rotation is at most DB_REPLICA_MAX_LAG_MS behind as
// of its last check, so after twice (max lag + check interval) every replica in rotation has passed it.
import type { Redis } from 'ioredis';
import { LRUCache } from 'lru-cache';
import type { Logger } from '../core/logger.js';
import type { Database } from '../db/database.js';
import { lsnToBytes } from '../db/replicas.js';

export interface Fence {
  /** The primary's WAL position after the write (absent when there are no replicas to route around). */
  lsn?: string;
  /** conversationId -> the highest seq the user stored there. */
  seqs: Record<string, number>;
  /** Redis could not say: neither a replica nor the cache can be trusted for this read. */
  unknown?: true;
}

/** Past any real WAL position, so no replica qualifies and the read goes to the primary. */
export const UNKNOWN_FENCE: Fence = Object.freeze({ lsn: 'FFFFFFFF/FFFFFFFF', seqs: {}, unknown: true });

const LOCAL_FENCES = 100_000;

export class ReadYourWrites {
  private readonly local: LRUCache<string, Fence>;

  constructor(
    private readonly db: Database,
    private readonly redis: Redis | undefined,
    private readonly ttlMs: number,
    private readonly log: Logger,
  ) {
    this.local = new LRUCache({ max: LOCAL_FENCES, ttl: ttlMs });
  }

  /** Fences only matter when some read may be served from something that lags: a replica or the cache. */
  static needed(db: Database, cacheEnabled: boolean): boolean {
    return db.replicas.length > 0 || cacheEnabled;
  }

  /** Call after the user's write committed, before answering it. */
  async wrote(userId: string, sent?: { conversationId: string; seq: number }): Promise<void> {
    const lsn = this.db.replicas.length > 0 ? await this.db.walPositionAfterCommit() : undefined;
    const fence = this.local.get(userId) ?? { seqs: {} };
    const next: Fence = { lsn: lsn ?? fence.lsn, seqs: { ...fence.seqs } };
    if (sent) next.seqs[sent.conversationId] = Math.max(next.seqs[sent.conversationId] ?? 0, sent.seq);
    this.local.set(userId, next);
    if (!this.redis) return;
    const key = `ryw:${userId}`;
    const fields: Record<string, string> = {};
    if (lsn) fields.lsn = lsn;
    if (sent) fields[`c:${sent.conversationId}`] = String(next.seqs[sent.conversationId]);
    // A failed write here is not the user's write failing: the other processes then read the primary for this
    // user only if they fail to read the key too (fenceOf), so log it and answer.
    await this.redis
      .multi()
      .hset(key, fields)
      .pexpire(key, this.ttlMs)
      .exec()
      .catch((error: unknown) => this.log.warn({ err: error, userId }, 'read-your-writes fence not shared'));
  }

  /** The user's fence, undefined when none is live; UNKNOWN_FENCE when Redis cannot say. */
  async fenceOf(userId: string): Promise<Fence | undefined> {
    const local = this.local.get(userId);
    if (!this.redis) return local;
    let shared: Record<string, string>;
    try {
      shared = await this.redis.hgetall(`ryw:${userId}`);
    } catch {
      return UNKNOWN_FENCE;
    }
    if (Object.keys(shared).length === 0) return local;
    const seqs: Record<string, number> = { ...local?.seqs };
    for (const [field, value] of Object.entries(shared))
      if (field.startsWith('c:')) seqs[field.slice(2)] = Math.max(seqs[field.slice(2)] ?? 0, Number(value));
    // The local and shared positions come from the same primary: the later one is the larger.
    const lsn = [local?.lsn, shared.lsn].filter((value): value is string => value !== undefined).sort((a, b) => lsnToBytes(a) - lsnToBytes(b)).at(-1);
    return lsn === undefined ? { seqs } : { lsn, seqs };
  }
}
