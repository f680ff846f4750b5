// Ordered broadcasts through the Redis Streams adapter's own stream. A normal `io.to(room).emit()` delivers to
// this process's sockets at once but to other processes only when they read the stream, so a process can show
// its own seq N+1 before another process's N. Written the way the socket.io emitter writes (uid "emitter"),
// an entry is delivered by every process, this one included, in stream order, and is kept for connection state
// recovery like any broadcast. Awaiting the XADDs under the send locks makes stream order = seq order.
import type { Redis } from 'ioredis';

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

/**
 * The caller holds the send locks while this runs, so it must not wait on Redis forever: past `timeoutMs` it
 * rejects (the messages are stored; clients catch up by sync) and the locks are released. It rejects too when
 * any entry failed.
 */
export function streamPublisher(client: Redis, streamName: string, timeoutMs = 2000): OrderedPublish {
  return async (broadcasts) => {
    if (broadcasts.length === 0) return;
    const pipeline = client.pipeline();
    for (const { rooms, event, payload } of broadcasts) {
      const data = JSON.stringify({
        packet: { type: EVENT, data: [event, payload], nsp: '/' },
        opts: { rooms, except: [], flags: {} },
      });
      pipeline.xadd(streamName, 'MAXLEN', '~', STREAM_MAX_LEN, '*', 'uid', EMITTER_UID, 'nsp', '/', 'type', BROADCAST, 'data', data);
    }
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`XADD to ${streamName} took over ${timeoutMs} ms`)), timeoutMs);
    });
    try {
      const results = await Promise.race([pipeline.exec(), timeout]);
      const failed = results?.find(([error]) => error);
      if (failed) throw failed[0];
    } finally {
      clearTimeout(timer);
    }
  };
}
