// What both fastify peers share: fastify 5, a pg pool of Parley's default size, and jose verifying Parley's
// access token (HS256, issuer "parley") on every request, as a hand-written server would. The peers serve
// GET /api/conversations/:id/messages?limit=N (newest first) and nothing else. Started by test/bench/history-read.ts
// with PORT, DATABASE_URL and JWT_SECRET.
import { createSecretKey } from 'node:crypto';
import Fastify, { type FastifyReply, type FastifyRequest } from 'fastify';
import { jwtVerify } from 'jose';
import pg from 'pg';

export type HistoryHandler = (
  pool: pg.Pool,
  page: { conversationId: string; userId: string; limit: number },
  reply: FastifyReply,
) => Promise<unknown>;

export const notFound = (reply: FastifyReply) =>
  reply.code(404).send({ error: { code: 'not_found', message: 'Conversation not found' } });

export async function startPeer(handler: HistoryHandler): Promise<void> {
  const key = createSecretKey(Buffer.from(process.env.JWT_SECRET!, 'utf8'));
  const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL, max: 10 });
  const app = Fastify({ logger: false });

  app.get(
    '/api/conversations/:id/messages',
    async (request: FastifyRequest<{ Params: { id: string }; Querystring: { limit?: string } }>, reply) => {
      const token = /^Bearer (\S+)$/.exec(request.headers.authorization ?? '')?.[1];
      let userId: string | undefined;
      try {
        userId = token
          ? (await jwtVerify(token, key, { algorithms: ['HS256'], issuer: 'parley' })).payload.sub
          : undefined;
      } catch {
        userId = undefined;
      }
      if (!userId)
        return reply.code(401).send({ error: { code: 'unauthorized', message: 'Invalid or expired access token' } });
      const limit = Math.min(Math.max(Number(request.query.limit ?? 50) || 50, 1), 500);
      return handler(pool, { conversationId: request.params.id, userId, limit }, reply);
    },
  );

  await app.listen({ port: Number(process.env.PORT), host: '127.0.0.1' });
  process.send?.('ready');
  process.on(
    'SIGINT',
    () =>
      void app
        .close()
        .then(() => pool.end())
        .then(() => process.exit(0)),
  );
}
