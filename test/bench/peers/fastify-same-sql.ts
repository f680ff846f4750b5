// Peer 1: Parley's own single statement (membership check and the page as one json_agg text), sent as it comes.
import { HISTORY } from '../../../src/db/messages.repository.js';
import { notFound, startPeer } from './peer.js';

await startPeer(async (pool, page, reply) => {
  const { rows } = await pool.query<{ member: boolean; messages: string }>({
    ...HISTORY.before,
    values: [page.conversationId, page.userId, null, page.limit],
  });
  if (!rows[0]!.member) return notFound(reply);
  return reply.type('application/json').send(`{"messages":${rows[0]!.messages}}`);
});
