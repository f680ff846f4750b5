// Ordered broadcasts through the Redis Streams adapter's own stream. A normal `io.to(room).emit()` delivers to
// this process's sockets at once but to other processes only when they read the stream, so a process can show
// its own seq N+1 before another process's N. Written the way the socket.io emitter writes (uid "emitter"),
// an entry is delivered by every process, this one included, in stream order, and is kept for connection state
// recovery like any broadcast. Awaiting the XADD under the send lock makes stream order = seq order.
import type { Redis } from 'ioredis';

// socket.io-adapter's MessageType.BROADCAST and socket.io-parser's PacketType.EVENT.
const BROADCAST = '3';
const EVENT = 2;
const EMITTER_UID = 'emitter';
/** The adapter's default stream length (approximate trimming). */
export const STREAM_MAX_LEN = 10_000;

export type OrderedPublish = (rooms: string[], event: string, payload: object) => Promise<void>;

export function streamPublisher(client: Redis, streamName: string): OrderedPublish {
  return async (rooms, event, payload) => {
    const data = JSON.stringify({
      packet: { type: EVENT, data: [event, payload], nsp: '/' },
      opts: { rooms, except: [], flags: {} },
    });
    await client.xadd(streamName, 'MAXLEN', '~', STREAM_MAX_LEN, '*', 'uid', EMITTER_UID, 'nsp', '/', 'type', BROADCAST, 'data', data);
  };
}
