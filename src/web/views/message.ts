// One message as the log shows it: sender, time, body (or "Message deleted"), "(edited)", and attachments as
// download links with image thumbnails (v2 fields, drawn as soon as the server sends them).
import { h, time } from '../dom.js';
import { nameOf, type ChatStore, type ConversationState } from '../store.js';
import type { Message } from '../types.js';

export function messageElement(store: ChatStore, state: ConversationState, message: Message): HTMLElement {
  const me = store.me;
  const sender = store.member(state.conversation.id, message.senderId);
  const who = message.senderId === me?.id ? 'You' : sender ? nameOf(sender) : 'Former member';
  const body = message.deletedAt ? h('p', { class: 'body deleted' }, 'Message deleted') : h('p', { class: 'body' }, message.body);
  const attachments = (message.attachments ?? []).filter((attachment) => isOwnOrigin(attachment.url)).map((attachment) =>
    h(
      'a',
      { class: 'attachment', href: attachment.url, download: attachment.contentType.startsWith('image/') ? undefined : attachment.name },
      attachment.contentType.startsWith('image/') ? h('img', { src: `${attachment.url}/thumbnail`, alt: attachment.name, loading: 'lazy' }) : null,
      `${attachment.name} (${Math.ceil(attachment.size / 1024)} KB)`,
    ),
  );
  return h(
    'article',
    { class: `message${message.senderId === me?.id ? ' mine' : ''}`, 'data-seq': message.seq, 'data-id': message.id, 'aria-label': `${who} at ${time(message.createdAt)}` },
    h('p', { class: 'meta' }, h('span', { class: 'sender' }, who), ' ', h('time', { datetime: message.createdAt }, time(message.createdAt)), message.editedAt ? ' (edited)' : ''),
    body,
    ...attachments,
  );
}

/** Attachment links are the server's own (or its object store's signed https URLs), never javascript: and the like. */
function isOwnOrigin(url: string): boolean {
  try {
    const parsed = new URL(url, location.href);
    return parsed.origin === location.origin || parsed.protocol === 'https:';
  } catch {
    return false;
  }
}
