// Read-your-writes across replicas, processes and hosts. After a user's write commits, the user gets a fence: the
// primary's WAL position then (when there are replicas) and, for a send, the seq it got in its conversation.
// Until the fence expires, that user's lag-tolerant reads go only to a replica that has replayed past the position
// (else the primary), and the history cache serves them only if it already holds that seq. The fence lives in this
// process (the next request usually lands here) and in short-lived Redis keys, so a request that lands on another
// process or host knows too: one script call per write (it only ever moves a fence forward, whatever order
// concurrent writers' calls arrive in) and one MGET per read.
//
// The fence outlives the point where it matters: a replica in rotation is at most DB_REPLICA_MAX_LAG_MS behind as
// of its last check, so after twice (max lag + check interval) every replica in rotation has passed it.
import type { Redis } from 'ioredis';
import { LRUCache } from 'lru-cache';
import type { Logger } from '../core/logger.js';
import type { Database } from '../db/database.js';
import { bytesToLsn, lsnToBytes } from '../db/replicas.js';

/** What one read must see of the reader's own writes. */
export interface Fence {
  /** The primary's WAL position after the user's last write (absent without replicas). */
  lsn?: string;
  /** The highest seq the user stored in the conversation being read. */
  seq?: number;
  /** Redis could not say: neither a replica nor the cache can be trusted for this read. */
  unknown?: true;
}

/** Past any real WAL position, so no replica qualifies and the read goes to the primary. */
export const UNKNOWN_FENCE: Fence = Object.freeze({ lsn: 'FFFFFFFF/FFFFFFFF', unknown: true });

const LOCAL_FENCES = 100_000;

// KEYS: the user's WAL-position key, the user's key for one conversation's seq. ARGV: position in bytes or '',
// seq or '', TTL in ms. Each key is raised to its argument (never lowered) and its TTL renewed.
const RAISE_FENCE = `
for i = 1, 2 do
  local value = tonumber(ARGV[i])
  if value then
    local current = tonumber(redis.call('GET', KEYS[i]) or '0')
    if value > current then redis.call('SET', KEYS[i], ARGV[i], 'PX', ARGV[3]) else redis.call('PEXPIRE', KEYS[i], ARGV[3]) end
  end
end
return 1`;

interface LocalFence {
  lsnBytes?: number;
  seqs: Map<string, number>;
}

type FenceRedis = Redis & {
  raiseFence(lsnKey: string, seqKey: string, lsnBytes: string, seq: string, ttlMs: number): Promise<unknown>;
};

export class ReadYourWrites {
  private readonly local: LRUCache<string, LocalFence>;
  private readonly redis: FenceRedis | undefined;

  constructor(
    private readonly db: Database,
    redis: Redis | undefined,
    private readonly ttlMs: number,
    private readonly log: Logger,
  ) {
    this.local = new LRUCache({ max: LOCAL_FENCES, ttl: ttlMs });
    if (redis && !('raiseFence' in redis)) redis.defineCommand('raiseFence', { numberOfKeys: 2, lua: RAISE_FENCE });
    this.redis = redis as FenceRedis | undefined;
  }

  /** Fences only matter when some read may be served from something that lags: a replica or the cache. */
  static needed(db: Database, cacheEnabled: boolean): boolean {
    return db.replicas.length > 0 || cacheEnabled;
  }

  /** Call after the user's write committed, before answering it. */
  async wrote(userId: string, sent?: { conversationId: string; seq: number }): Promise<void> {
    const lsnBytes = this.db.replicas.length > 0 ? await this.positionAfterCommit(userId) : undefined;
    const fence = this.local.get(userId) ?? { seqs: new Map<string, number>() };
    if (lsnBytes !== undefined) fence.lsnBytes = Math.max(fence.lsnBytes ?? 0, lsnBytes);
    if (sent) fence.seqs.set(sent.conversationId, Math.max(fence.seqs.get(sent.conversationId) ?? 0, sent.seq));
    this.local.set(userId, fence);
    if (!this.redis || (lsnBytes === undefined && !sent)) return;
    // A failed write here is not the user's write failing: it is logged, and the write is answered.
    await this.redis
      .raiseFence(
        lsnKey(userId),
        seqKey(userId, sent?.conversationId ?? '-'),
        lsnBytes === undefined ? '' : String(lsnBytes),
        sent ? String(sent.seq) : '',
        this.ttlMs,
      )
      .catch((error: unknown) => this.log.warn({ err: error, userId }, 'read-your-writes fence not shared'));
  }

  /**
   * The primary's position now, in bytes. The write has committed already, so failing to ask is no reason to fail
   * it: the fence becomes "past everything" and the user reads the primary until it expires.
   */
  private async positionAfterCommit(userId: string): Promise<number> {
    try {
      return lsnToBytes(await this.db.walPositionAfterCommit());
    } catch (error) {
      this.log.warn(
        { err: error, userId },
        'WAL position unknown after a write: this user reads the primary for a while',
      );
      return lsnToBytes(UNKNOWN_FENCE.lsn!);
    }
  }

  /** The user's fence for a read (of one conversation, when given); undefined when none is live. */
  async fenceOf(userId: string, conversationId?: string): Promise<Fence | undefined> {
    const local = this.local.get(userId);
    let lsnBytes = local?.lsnBytes;
    let seq = conversationId === undefined ? undefined : local?.seqs.get(conversationId);
    if (this.redis) {
      try {
        const [sharedLsn, sharedSeq] = await this.redis.mget(lsnKey(userId), seqKey(userId, conversationId ?? '-'));
        // Both processes' positions come from the same primary and seqs from the same counter: the larger wins.
        if (sharedLsn) lsnBytes = Math.max(lsnBytes ?? 0, Number(sharedLsn));
        if (sharedSeq && conversationId !== undefined) seq = Math.max(seq ?? 0, Number(sharedSeq));
      } catch {
        return UNKNOWN_FENCE;
      }
    }
    if (lsnBytes === undefined && seq === undefined) return undefined;
    return { ...(lsnBytes !== undefined ? { lsn: bytesToLsn(lsnBytes) } : {}), ...(seq !== undefined ? { seq } : {}) };
  }
}

const lsnKey = (userId: string) => `ryw:${userId}:lsn`;
const seqKey = (userId: string, conversationId: string) => `ryw:${userId}:c:${conversationId}`;
