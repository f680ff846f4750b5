// Peer 2: the typical hand-written read: a membership query, then the page's rows, mapped to the contract's
// message objects in JavaScript and serialized by fastify.
import { toMessage, type MessageRow } from '../../../src/db/messages.repository.js';
import { notFound, startPeer } from './peer.js';

await startPeer(async (pool, page, reply) => {
  const member = await pool.query('SELECT 1 FROM conversation_members WHERE conversation_id = $1 AND user_id = $2', [
    page.conversationId,
    page.userId,
  ]);
  if (member.rowCount === 0) return notFound(reply);
  const { rows } = await pool.query<MessageRow>(
    `SELECT id, conversation_id, seq, sender_id, body, client_msg_id, created_at FROM messages
      WHERE conversation_id = $1 ORDER BY seq DESC LIMIT $2`,
    [page.conversationId, page.limit],
  );
  // The same row-to-object mapping Parley's own row reads use.
  const messages = rows.map(toMessage);
  return reply.send({ messages });
});
