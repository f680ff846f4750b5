// Presence shared by every process through Redis, surviving a process killed without warning:
//  - presence:count      hash user -> sockets anywhere (HINCRBY makes "first" and "last" atomic)
//  - presence:proc:<id>  hash user -> sockets on process <id>, so a dead process's share can be taken back
//  - presence:alive:<id> a heartbeat key with a TTL, refreshed every ttl/3
//  - presence:procs      the set of process ids that hold counts
//  - presence:draining   the processes that are closing: their sockets still count as online, not against the cap
// Every process sweeps: a process whose heartbeat expired has its counts subtracted (one Lua script, so only
// one sweeper gets them) and its users that reach zero go offline. Converges within ttl + ttl/3.
import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { Logger } from '../core/logger.js';
import { OutageLog } from '../core/outage-log.js';
import type { Presence } from '../contract/presence.js';
import { isRedisUnavailable } from '../redis/unavailable.js';
import type { Admission, PresenceEvents, PresenceTracker } from './presence-tracker.js';

const COUNT = 'presence:count';
const SEEN = 'presence:seen';
const PROCS = 'presence:procs';
const DRAINING = 'presence:draining';
const PROC_PREFIX = 'presence:proc:';
const procKey = (id: string) => `${PROC_PREFIX}${id}`;
const aliveKey = (id: string) => `presence:alive:${id}`;

// Admits a socket only while the user has fewer than ARGV[3] anywhere, and counts it in the same script, so
// concurrent handshakes on any process or host cannot all pass the cap. Registers the process too: a count that
// lands after this process's own close-time sweep is still found and swept by the survivors once the heartbeat
// key is gone. Returns the user's sockets after admission, or -1 when refused.
// Sockets of a draining process do not count against the cap: they are about to reconnect elsewhere, and until that
// process gives its counts back a user already at the cap would be refused, and a refused handshake is not retried
// by socket.io's client. (Measured: a rolling deploy with six sockets for one user and a cap of 10 left sockets
// disconnected for good.) Their proc keys are named from ARGV[4], the prefixed "presence:proc:", since which
// processes drain is only known here; the deployment's Redis is one primary (or Sentinel), never a Redis Cluster.
const ADMIT = `
local count = tonumber(redis.call('HGET', KEYS[2], ARGV[1]) or '0')
for _, id in ipairs(redis.call('SMEMBERS', KEYS[4])) do
  count = count - tonumber(redis.call('HGET', ARGV[4] .. id, ARGV[1]) or '0')
end
if count >= tonumber(ARGV[3]) then return -1 end
redis.call('SADD', KEYS[3], ARGV[2])
redis.call('HINCRBY', KEYS[1], ARGV[1], 1)
return redis.call('HINCRBY', KEYS[2], ARGV[1], 1)`;

// A process that was swept while still alive (a long stall) has no share left to give back: leave the total.
const DISCONNECT = `
local mine = redis.call('HINCRBY', KEYS[1], ARGV[1], -1)
if mine <= 0 then redis.call('HDEL', KEYS[1], ARGV[1]) end
if mine < 0 then return 0 end
local left = redis.call('HINCRBY', KEYS[2], ARGV[1], -1)
if left > 0 then return 0 end
redis.call('HDEL', KEYS[2], ARGV[1])
redis.call('HSET', KEYS[3], ARGV[1], ARGV[2])
return 1`;

const SWEEP = `
if redis.call('EXISTS', KEYS[2]) == 1 then return {} end
local entries = redis.call('HGETALL', KEYS[1])
local offline = {}
for i = 1, #entries, 2 do
  local left = redis.call('HINCRBY', KEYS[3], entries[i], -tonumber(entries[i + 1]))
  if left <= 0 then
    redis.call('HDEL', KEYS[3], entries[i])
    redis.call('HSET', KEYS[4], entries[i], ARGV[2])
    table.insert(offline, entries[i])
  end
end
redis.call('DEL', KEYS[1])
redis.call('SREM', KEYS[5], ARGV[1])
redis.call('SREM', KEYS[6], ARGV[1])
return offline`;

// A process that was swept while still alive (stalled past the TTL) puts its sockets' counts back. Only when its
// own share is gone: then every local count is missing from Redis. Returns the users this brought online.
const RESTORE = `
if redis.call('EXISTS', KEYS[1]) == 1 then return {} end
local online = {}
for i = 1, #ARGV, 2 do
  redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1])
  if redis.call('HINCRBY', KEYS[2], ARGV[i], tonumber(ARGV[i + 1])) == tonumber(ARGV[i + 1]) then
    table.insert(online, ARGV[i])
  end
end
return online`;

// After an outage during which this process admitted and closed sockets it could not count in Redis: replaces
// its share with its local counts and moves the totals by the difference, atomically. Returns the users this
// brought online and those it took offline, as {online, offline}.
const RESYNC = `
local old = {}
local entries = redis.call('HGETALL', KEYS[1])
for i = 1, #entries, 2 do old[entries[i]] = tonumber(entries[i + 1]) end
local now = {}
for i = 3, #ARGV, 2 do now[ARGV[i]] = tonumber(ARGV[i + 1]) end
local online, offline = {}, {}
local function move(user, delta)
  if delta == 0 then return end
  local total = redis.call('HINCRBY', KEYS[2], user, delta)
  if total <= 0 then
    redis.call('HDEL', KEYS[2], user)
    redis.call('HSET', KEYS[3], user, ARGV[2])
    if total - delta > 0 then table.insert(offline, user) end
  elseif total - delta <= 0 then
    table.insert(online, user)
  end
end
for user, count in pairs(now) do move(user, count - (old[user] or 0)) end
for user, count in pairs(old) do if now[user] == nil then move(user, -count) end end
redis.call('DEL', KEYS[1])
for user, count in pairs(now) do redis.call('HSET', KEYS[1], user, count) end
redis.call('SADD', KEYS[4], ARGV[1])
return {online, offline}`;

export class RedisPresence implements PresenceTracker {
  /** This process's sockets per user, as it has told Redis: what a restore puts back. */
  private readonly local = new Map<string, number>();
  /** Unique per process start: a restarted process must not inherit the counts of the one it replaces. */
  readonly processId = randomUUID();
  private timer?: NodeJS.Timeout;
  /** Sockets came or went while Redis could not be told: the next heartbeat rewrites this process's share. */
  private stale = false;
  private events: PresenceEvents = { offline: () => undefined, online: () => undefined };
  /** The ADMIT script names draining processes' keys itself, so it needs ioredis's key prefix. */
  private readonly procKeyPrefix: string;

  constructor(
    private readonly redis: Redis,
    private readonly ttlSec: number,
    private readonly log: Logger,
  ) {
    this.procKeyPrefix = `${redis.options.keyPrefix ?? ''}${PROC_PREFIX}`;
  }

  async admit(userId: string, maxSockets: number): Promise<Admission> {
    // Counted locally in the same tick as the command is queued, so a restore sees the two in the same order;
    // taken back if refused.
    this.local.set(userId, (this.local.get(userId) ?? 0) + 1);
    let total: number;
    try {
      total = Number(
        await this.redis.eval(
          ADMIT,
          4,
          procKey(this.processId),
          COUNT,
          PROCS,
          DRAINING,
          userId,
          this.processId,
          maxSockets,
          this.procKeyPrefix,
        ),
      );
    } catch (error) {
      if (!isRedisUnavailable(error)) {
        this.uncountLocally(userId);
        throw error;
      }
      // Redis is down: admit on this process's own count (the cap per process), tell Redis when it is back.
      this.stale = true;
      total = this.local.get(userId)! > maxSockets ? -1 : 2;
    }
    if (total < 0) this.uncountLocally(userId);
    return total < 0 ? 'refused' : total === 1 ? 'first' : 'more';
  }

  async disconnected(userId: string, at: string): Promise<boolean> {
    this.uncountLocally(userId);
    try {
      const last = await this.redis.eval(DISCONNECT, 3, procKey(this.processId), COUNT, SEEN, userId, at);
      return Number(last) === 1;
    } catch (error) {
      if (!isRedisUnavailable(error)) throw error;
      this.stale = true;
      return false;
    }
  }

  private uncountLocally(userId: string): void {
    const left = (this.local.get(userId) ?? 1) - 1;
    if (left > 0) this.local.set(userId, left);
    else this.local.delete(userId);
  }

  async lookup(userIds: string[]): Promise<Record<string, Presence>> {
    if (userIds.length === 0) return {};
    const [counts, seen] = await Promise.all([this.redis.hmget(COUNT, ...userIds), this.redis.hmget(SEEN, ...userIds)]);
    return Object.fromEntries(
      userIds.map((id, i) => [
        id,
        Number(counts[i] ?? 0) > 0
          ? { status: 'online', lastSeenAt: null }
          : { status: 'offline', lastSeenAt: seen[i] ?? null },
      ]),
    );
  }

  async start(events: PresenceEvents): Promise<void> {
    this.events = events;
    await this.heartbeat();
    const outage = new OutageLog(this.log, 'presence heartbeat');
    this.timer = setInterval(
      () => {
        void this.heartbeat()
          .then(() => this.sweep())
          .then(
            () => outage.recovered(),
            (error: unknown) => outage.failed(error),
          );
      },
      Math.max(500, (this.ttlSec * 1000) / 3),
    );
    this.timer.unref();
  }

  async draining(): Promise<void> {
    await this.redis.sadd(DRAINING, this.processId);
  }

  /** Gives back this process's counts at once instead of waiting for the TTL. */
  async close(): Promise<void> {
    clearInterval(this.timer);
    await this.redis.del(aliveKey(this.processId));
    await this.sweepOne(this.processId);
  }

  private async heartbeat(): Promise<void> {
    const replies = await this.redis
      .multi()
      .set(aliveKey(this.processId), '1', 'PX', this.ttlSec * 1000)
      .sadd(PROCS, this.processId)
      .exists(procKey(this.processId))
      .exec();
    // Nearly always this process's share is there and there is nothing to restore: skip sending every local count.
    // RESTORE checks again itself, atomically.
    if (this.stale) {
      await this.resync();
      return;
    }
    const shareExists = replies?.[2]?.[1] === 1;
    if (this.local.size === 0 || shareExists) return;
    const pairs = [...this.local].flatMap(([userId, count]) => [userId, String(count)]);
    const online = (await this.redis.eval(RESTORE, 2, procKey(this.processId), COUNT, ...pairs)) as string[];
    if (online.length > 0)
      this.log.warn({ users: online.length }, 'presence: this process had been swept as dead; counts restored');
    for (const userId of online) this.events.online(userId);
  }

  private async resync(): Promise<void> {
    this.stale = false;
    const pairs = [...this.local].flatMap(([userId, count]) => [userId, String(count)]);
    const now = new Date().toISOString();
    try {
      const [online, offline] = (await this.redis.eval(
        RESYNC,
        4,
        procKey(this.processId),
        COUNT,
        SEEN,
        PROCS,
        this.processId,
        now,
        ...pairs,
      )) as [string[], string[]];
      this.log.info(
        { online: online.length, offline: offline.length },
        'presence: counts resynchronised after a Redis outage',
      );
      for (const userId of online) this.events.online(userId);
      for (const userId of offline) this.events.offline(userId, now);
    } catch (error) {
      this.stale = true;
      throw error;
    }
  }

  private async sweep(): Promise<void> {
    const processes = await this.redis.smembers(PROCS);
    for (const id of processes) {
      if (id === this.processId) continue;
      const now = new Date().toISOString();
      for (const userId of await this.sweepOne(id, now)) this.events.offline(userId, now);
    }
  }

  private async sweepOne(id: string, now = new Date().toISOString()): Promise<string[]> {
    const offline = await this.redis.eval(SWEEP, 6, procKey(id), aliveKey(id), COUNT, SEEN, PROCS, DRAINING, id, now);
    if (Array.isArray(offline) && offline.length > 0)
      this.log.info({ process: id, users: offline.length }, 'presence: swept a dead process');
    return (offline as string[]) ?? [];
  }
}
