// Conversations and their members (docs/API.md: HTTP, Roles and members).
import type { Message } from './messages.js';
import type { User } from './users.js';

export type ConversationKind = 'direct' | 'group';
export type MemberRole = 'owner' | 'admin' | 'member';

/** A user as a member of one conversation: their role and how far they have read. */
export interface Member extends User {
  role: MemberRole;
  lastReadSeq: number;
}

export interface Conversation {
  id: string;
  kind: ConversationKind;
  title: string | null;
  createdAt: string;
  lastSeq: number;
  members: Member[];
}

/** A conversation as GET /api/conversations lists it. */
export interface ConversationSummary extends Conversation {
  lastMessage?: Message;
  unread: number;
}

/** GET /api/conversations: most recent activity first; `next` is the cursor of the following page (absent on the last). */
export interface ConversationList {
  conversations: ConversationSummary[];
  next?: string;
}
