// Chat clients for the topology tests: senders that keep sending through nginx until stopped, resending a
// clientMsgId until it is acked (a send whose ack was lost with a host is idempotent), as a real client does.
import { setTimeout as sleep } from 'node:timers/promises';
import type { Socket } from 'socket.io-client';
import type { Message as WireMessage } from '../../../src/contract/messages.js';

export type Message = Pick<WireMessage, 'id' | 'seq' | 'clientMsgId'>;

/** Chat clients through nginx that send until stopped, resending a clientMsgId until it is acked. */
export function chatLoad(senders: Socket[], conversationId: string) {
  const acked = new Map<string, Message>();
  let running = true;
  const loops = senders.map(async (socket, index) => {
    for (let i = 0; running; i += 1) {
      const clientMsgId = `s${index}-${i}`;
      while (running) {
        if (socket.connected) {
          const ack = await socket
            .timeout(3_000)
            .emitWithAck('message:send', { conversationId, body: clientMsgId, clientMsgId })
            .catch(() => undefined);
          if (ack?.ok) {
            acked.set(clientMsgId, ack.message);
            break;
          }
        }
        await sleep(50);
      }
      await sleep(20);
    }
  });
  return {
    acked,
    async stop() {
      running = false;
      await Promise.all(loops);
    },
  };
}
