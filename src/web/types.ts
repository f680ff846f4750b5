// The wire contract (shared/API.md, v1 plus v2 roles) as the client reads it. Fields of features still being
// built (edit/delete, attachments) are optional, so the client renders them as soon as the server sends them.
export interface User {
  id: string;
  username: string;
  displayName: string | null;
  createdAt: string;
}

export type Role = 'owner' | 'admin' | 'member';

export interface Member extends User {
  role: Role;
  lastReadSeq: number;
}

export interface Attachment {
  id: string;
  name: string;
  size: number;
  contentType: string;
  url: string;
}

export interface Message {
  id: string;
  conversationId: string;
  seq: number;
  senderId: string;
  body: string;
  clientMsgId: string;
  createdAt: string;
  editedAt?: string | null;
  deletedAt?: string | null;
  attachments?: Attachment[];
}

export interface Conversation {
  id: string;
  kind: 'direct' | 'group';
  title: string | null;
  createdAt: string;
  lastSeq: number;
  members: Member[];
  lastMessage?: Message;
  unread?: number;
}

export interface Presence {
  status: 'online' | 'offline';
  lastSeenAt: string | null;
}

export interface ErrorBody {
  error: { code: string; message: string; details?: unknown };
}

export type Ack<T> = ({ ok: true } & T) | ({ ok: false } & ErrorBody);
