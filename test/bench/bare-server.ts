// The baseline for test/bench/realtime.ts: socket.io with the same Redis Streams adapter and options, no
// database, no auth beyond reading the group from the handshake. Run: PORT=... REDIS_PREFIX=... tsx bare-server.ts
import http from 'node:http';
import { Redis } from 'ioredis';
import { Server } from 'socket.io';
import { createAdapter } from '@socket.io/redis-streams-adapter';

const prefix = process.env.REDIS_PREFIX ?? 'bare:';
const redis = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379', { maxRetriesPerRequest: null });
const server = http.createServer((req, res) => {
  const memory = process.memoryUsage();
  res.setHeader('content-type', 'application/json');
  res.end(JSON.stringify({ memory: { rss: memory.rss, heapUsed: memory.heapUsed } }));
});
const io = new Server(server, {
  serveClient: false,
  maxHttpBufferSize: 64 * 1024,
  connectionStateRecovery: { maxDisconnectionDuration: 120_000, skipMiddlewares: false },
  adapter: createAdapter(redis, {
    streamName: `${prefix}socket.io`,
    channelPrefix: `${prefix}socket.io`,
    sessionKeyPrefix: `${prefix}sio:session:`,
  }),
});
let seq = 0;
io.on('connection', (socket) => {
  const auth = socket.handshake.auth as { group?: string; user?: string };
  void socket.join([`user:${auth.user}`, `conv:${auth.group}`]);
  socket.on(
    'message:send',
    (payload: { conversationId: string; body: string; clientMsgId: string }, ack?: (reply: object) => void) => {
      seq += 1;
      const message = {
        id: String(seq),
        conversationId: payload.conversationId,
        seq,
        senderId: auth.user,
        body: payload.body,
        clientMsgId: payload.clientMsgId,
        createdAt: new Date().toISOString(),
      };
      io.to(`conv:${payload.conversationId}`).emit('message:new', { message });
      ack?.({ ok: true, message });
    },
  );
});
server.listen(Number(process.env.PORT), '127.0.0.1', () => process.send?.('ready'));
process.on('SIGINT', () => void io.close(() => process.exit(0)));
