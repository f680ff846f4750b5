// Messages the user has sent that the server has not acknowledged yet. Each gets its clientMsgId when typed and
// keeps it through every retry, so a send repeated after a drop, a reload or a restart of the page is stored
// once (the server answers the stored message for a clientMsgId it has seen). Kept in sessionStorage, so a page
// reloaded while offline still sends what was typed.
import type { Attachment } from '../contract/attachments.js';

/** An uploaded file a pending message carries (sent as `attachmentIds`; the name is shown while it waits). */
export type PendingAttachment = Pick<Attachment, 'id' | 'name' | 'size' | 'contentType'>;

export interface Pending {
  clientMsgId: string;
  conversationId: string;
  body: string;
  attachments?: PendingAttachment[];
  createdAt: string;
  /** queued: waits for a connection; sending: on the wire; failed: refused by the server (with its sentence). */
  state: 'queued' | 'sending' | 'failed';
  error?: string;
}

const STORAGE_KEY = 'parley.outbox';

export class Outbox {
  private readonly items: Pending[];
  private readonly listeners = new Set<(conversationId: string) => void>();

  constructor(private readonly owner: string) {
    this.items = load(owner).map((item) => (item.state === 'sending' ? { ...item, state: 'queued' as const } : item));
  }

  onChange(listener: (conversationId: string) => void): void {
    this.listeners.add(listener);
  }

  add(conversationId: string, body: string, attachments: PendingAttachment[] = []): Pending {
    const item: Pending = {
      clientMsgId: crypto.randomUUID(),
      conversationId,
      body,
      ...(attachments.length > 0 ? { attachments } : {}),
      createdAt: new Date().toISOString(),
      state: 'queued',
    };
    this.items.push(item);
    this.changed(conversationId);
    return item;
  }

  of(conversationId: string): Pending[] {
    return this.items.filter((item) => item.conversationId === conversationId);
  }

  /** The next message of each conversation to send: one at a time per conversation keeps the typed order. */
  ready(): Pending[] {
    const heads = new Map<string, Pending>();
    for (const item of this.items)
      if (!heads.has(item.conversationId) && item.state !== 'failed') heads.set(item.conversationId, item);
    return [...heads.values()].filter((item) => item.state === 'queued');
  }

  mark(item: Pending, state: Pending['state'], error?: string): void {
    item.state = state;
    item.error = error;
    this.changed(item.conversationId);
  }

  /** The server has it (acked, or seen in an event or sync). */
  settle(clientMsgId: string): void {
    const index = this.items.findIndex((item) => item.clientMsgId === clientMsgId);
    if (index < 0) return;
    const [item] = this.items.splice(index, 1);
    this.changed(item!.conversationId);
  }

  dropConversation(conversationId: string): void {
    for (const item of this.of(conversationId)) this.settle(item.clientMsgId);
  }

  private changed(conversationId: string): void {
    sessionStorage.setItem(STORAGE_KEY, JSON.stringify({ owner: this.owner, items: this.items }));
    for (const listener of this.listeners) listener(conversationId);
  }
}

function load(owner: string): Pending[] {
  try {
    const saved = JSON.parse(sessionStorage.getItem(STORAGE_KEY) ?? 'null') as {
      owner: string;
      items: Pending[];
    } | null;
    return saved?.owner === owner ? saved.items : [];
  } catch {
    return [];
  }
}
