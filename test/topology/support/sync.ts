// Everything of one conversation through `sync`, page after page, as a client catches up after a deploy or a
// kill: it waits for its socket to be connected again (it may still be reconnecting to the surviving host) and
// honours `rate_limited` (SYNC_PER_SEC) instead of failing on it.
import type { Socket } from 'socket.io-client';
import type { Message } from '../../../src/contract/messages.js';
import { sleep, until } from '../../support/sockets.js';

export async function syncAll(socket: Socket, conversationId: string): Promise<Message[]> {
  const seen: Message[] = [];
  for (let cursor = 0, more = true; more;) {
    await until(() => socket.connected, 30_000, 'the socket connected again');
    const page = await socket.timeout(10_000).emitWithAck('sync', { cursors: { [conversationId]: cursor } });
    if (!page.ok && page.error?.code === 'rate_limited') {
      await sleep(1_000);
      continue;
    }
    if (!page.ok) throw new Error(`sync failed: ${JSON.stringify(page.error)}`);
    seen.push(...(page.messages as Message[]));
    more = page.more === true;
    cursor = seen.at(-1)?.seq ?? cursor;
  }
  return seen;
}
