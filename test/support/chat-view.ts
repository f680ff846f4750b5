// A client's view of its conversations, kept the way the README tells clients to: live events and sync answers
// merged by message id (a deletion wins; otherwise the later editedAt), a read cursor per conversation that only
// moves over seqs it holds without a gap, and the changesToken from the last sync answer.
import type { Message } from '../../src/contract/messages.js';
import { emitAck, type Client } from './sockets.js';

export type ViewMessage = Pick<Message, 'id' | 'conversationId' | 'seq' | 'body' | 'editedAt' | 'deletedAt'>;

export class ChatView {
  readonly messages = new Map<string, ViewMessage>();
  private readonly seqs = new Map<string, Set<number>>();
  readonly cursors: Record<string, number> = {};
  changesToken?: string;
  /** How many times sync handed back each message id as a change (over the whole life of the view). */
  readonly changesSeen = new Map<string, number>();

  constructor(conversationIds: string[]) {
    for (const id of conversationIds) {
      this.cursors[id] = 0;
      this.seqs.set(id, new Set());
    }
  }

  /** Listens for message:new and message:updated on the socket. */
  listen(socket: Client): void {
    socket.on('message:new', ({ message }: { message: ViewMessage }) => this.apply(message));
    socket.on('message:updated', ({ message }: { message: ViewMessage }) => this.apply(message));
  }

  /** Syncs until nothing more is waiting; returns the answers. */
  async sync(
    socket: Client,
  ): Promise<
    Array<{ messages: ViewMessage[]; changes: ViewMessage[]; unread: Record<string, number>; more: boolean }>
  > {
    const answers = [];
    for (;;) {
      const answer = await emitAck(socket, 'sync', {
        cursors: { ...this.cursors },
        ...(this.changesToken ? { changesSince: this.changesToken } : {}),
      });
      if (!answer.ok) throw new Error(`sync failed: ${JSON.stringify(answer.error)}`);
      for (const message of answer.messages) this.apply(message);
      for (const message of answer.changes) {
        this.apply(message);
        this.changesSeen.set(message.id, (this.changesSeen.get(message.id) ?? 0) + 1);
      }
      this.changesToken = answer.changesToken;
      answers.push(answer);
      if (!answer.more) return answers;
    }
  }

  apply(message: ViewMessage): void {
    const held = this.messages.get(message.id);
    if (!held || newer(message, held)) this.messages.set(message.id, message);
    const seqs = this.seqs.get(message.conversationId);
    if (!seqs) return;
    seqs.add(message.seq);
    let cursor = this.cursors[message.conversationId]!;
    while (seqs.has(cursor + 1)) cursor += 1;
    this.cursors[message.conversationId] = cursor;
  }
}

function newer(candidate: ViewMessage, held: ViewMessage): boolean {
  if (held.deletedAt) return false;
  if (candidate.deletedAt) return true;
  return (candidate.editedAt ?? '') >= (held.editedAt ?? '');
}
