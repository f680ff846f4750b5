// Ordered broadcasts through the Redis Streams adapter's own stream. A normal `io.to(room).emit()` delivers to
// this process's sockets at once but to other processes only when they read the stream, so a process can show
// its own seq N+1 before another process's N. Written the way the socket.io emitter writes (uid "emitter"),
// an entry is delivered by every process, this one included, in stream order. Awaiting the XADDs under the send
// locks makes stream order = seq order.
import type { Redis } from 'ioredis';
import { withTimeout } from '../core/deadline.js';

// socket.io-adapter's MessageType.BROADCAST and socket.io-parser's PacketType.EVENT.
const BROADCAST = '3';
const EVENT = 2;
const EMITTER_UID = 'emitter';
/** The adapter's default stream length (approximate trimming). */
export const STREAM_MAX_LEN = 10_000;

export interface Broadcast {
  rooms: string[];
  event: string;
  payload: object;
}

/** Appends the broadcasts to the stream in the order given (one pipeline: one write, one round trip). */
export type OrderedPublish = (broadcasts: readonly Broadcast[]) => Promise<void>;

export interface PublisherSettings {
  /** The caller holds the send locks while a publish runs: past this a hung Redis is given up on. */
  timeoutMs: number;
  /** Announcements kept while Redis is unreachable, oldest dropped first (clients catch those up by sync). */
  backlogMax: number;
}

/**
 * The caller holds the send locks while this runs, so it must not wait on Redis: while the connection is down it
 * rejects at once (the messages are stored and acked at normal speed), and past `timeoutMs` on a hung server.
 * What could not be appended is kept, in order, and goes out ahead of the next publish or as soon as the
 * connection is ready again, so members connected across the outage get the messages acked during it live once
 * Redis is back (ids let them drop the rare copy an interrupted pipeline causes).
 */
export function streamPublisher(client: Redis, streamName: string, settings: PublisherSettings): OrderedPublish {
  let backlog: Broadcast[] = [];
  const keep = (broadcasts: Broadcast[]) => {
    backlog = [...broadcasts, ...backlog].slice(-settings.backlogMax);
  };
  const publish: OrderedPublish = async (broadcasts) => {
    // Taken synchronously: a publish that starts later appends after these on the same connection.
    const pending = [...backlog, ...broadcasts];
    backlog = [];
    if (pending.length === 0) return;
    if (client.status !== 'ready') {
      keep(pending);
      throw new Error(`Redis is unavailable; ${pending.length} announcements wait for it`);
    }
    try {
      await appendAll(client, streamName, pending, settings.timeoutMs);
    } catch (error) {
      keep(pending);
      throw error;
    }
  };
  client.on('ready', () => void publish([]).catch(() => undefined));
  return publish;
}

async function appendAll(
  client: Redis,
  streamName: string,
  broadcasts: readonly Broadcast[],
  timeoutMs: number,
): Promise<void> {
  const pipeline = client.pipeline();
  for (const { rooms, event, payload } of broadcasts) {
    // Exactly what the adapter writes (test/integration/realtime/stream-wire-format.test.ts checks it against the
    // installed version): the receiving adapter sets the packet's namespace itself.
    const data = JSON.stringify({
      packet: { type: EVENT, data: [event, payload] },
      opts: { rooms, except: [], flags: {} },
    });
    pipeline.xadd(
      streamName,
      'MAXLEN',
      '~',
      STREAM_MAX_LEN,
      '*',
      'uid',
      EMITTER_UID,
      'nsp',
      '/',
      'type',
      BROADCAST,
      'data',
      data,
    );
  }
  const results = await withTimeout(pipeline.exec(), timeoutMs, `XADD to ${streamName} took over ${timeoutMs} ms`);
  const failed = results?.find(([error]) => error);
  if (failed) throw failed[0];
}
