// Messages and what carries them over HTTP (docs/API.md: HTTP, Editing and deleting, Search).
import type { MessageAttachment } from './attachments.js';

export interface Message {
  id: string;
  conversationId: string;
  seq: number;
  senderId: string;
  body: string;
  clientMsgId: string;
  createdAt: string;
  /** Null until edited; a deleted message is a tombstone: `body: ""` and deletedAt set, its seq kept. */
  editedAt: string | null;
  deletedAt: string | null;
  /** What the message carries (docs/attachments.md); empty for most messages and for deleted ones. */
  attachments: MessageAttachment[];
}

/** GET /api/search/messages: best match first; `next` continues below the last one (absent on the last page). */
export interface SearchPage {
  messages: Array<Message & { snippet: string }>;
  next?: string;
}
