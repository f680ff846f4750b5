// Peer 2: the typical hand-written read: a membership query, then the page's rows, mapped to the contract's
// message objects in JavaScript and serialized by fastify.
import { notFound, startPeer } from './peer.js';

interface Row {
  id: string;
  conversation_id: string;
  seq: string;
  sender_id: string;
  body: string;
  client_msg_id: string;
  created_at: Date;
}

await startPeer(async (pool, page, reply) => {
  const member = await pool.query('SELECT 1 FROM conversation_members WHERE conversation_id = $1 AND user_id = $2', [page.conversationId, page.userId]);
  if (member.rowCount === 0) return notFound(reply);
  const { rows } = await pool.query<Row>(
    `SELECT id, conversation_id, seq, sender_id, body, client_msg_id, created_at FROM messages
      WHERE conversation_id = $1 ORDER BY seq DESC LIMIT $2`,
    [page.conversationId, page.limit],
  );
  const messages = rows.map((row) => ({
    id: row.id,
    conversationId: row.conversation_id,
    seq: Number(row.seq),
    senderId: row.sender_id,
    body: row.body,
    clientMsgId: row.client_msg_id,
    createdAt: row.created_at.toISOString(),
  }));
  return reply.send({ messages });
});
