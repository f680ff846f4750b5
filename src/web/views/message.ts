// One message as the log shows it: sender, time, body (or "Message deleted"), "(edited)", and attachments as
// download links with image thumbnails (v2 fields, drawn as soon as the server sends them), and Edit / Delete
// buttons where the server would allow them: edit your own messages; delete your own, or anyone's as a group's
// owner or admin. The server decides in the end; a refusal is shown as its sentence.
import { h, time, uniqueId } from '../dom.js';
import { nameOf, type ChatStore, type ConversationState } from '../store.js';
import type { Message } from '../../contract/messages.js';

export interface MessageActions {
  edit(message: Message, body: string): Promise<boolean>;
  remove(message: Message): Promise<void>;
}

export function messageElement(
  store: ChatStore,
  state: ConversationState,
  message: Message,
  actions?: MessageActions,
): HTMLElement {
  const me = store.me;
  const sender = store.member(state.conversation.id, message.senderId);
  const who = message.senderId === me?.id ? 'You' : sender ? nameOf(sender) : 'Former member';
  const body = message.deletedAt
    ? h('p', { class: 'body deleted' }, 'Message deleted')
    : h('p', { class: 'body' }, message.body);
  const attachments = (message.attachments ?? [])
    .filter((attachment) => isOwnOrigin(attachment.url))
    .map((attachment) =>
      h(
        'a',
        {
          class: 'attachment',
          href: attachment.url,
          download: attachment.contentType.startsWith('image/') ? undefined : attachment.name,
        },
        attachment.contentType.startsWith('image/')
          ? h('img', { src: `${attachment.url}/thumbnail`, alt: attachment.name, loading: 'lazy' })
          : null,
        `${attachment.name} (${Math.ceil(attachment.size / 1024)} KB)`,
      ),
    );
  const label = `${who} at ${time(message.createdAt)}`;
  const element = h(
    'article',
    {
      class: `message${message.senderId === me?.id ? ' mine' : ''}`,
      'data-seq': message.seq,
      'data-id': message.id,
      'aria-label': label,
    },
    h(
      'p',
      { class: 'meta' },
      h('span', { class: 'sender' }, who),
      ' ',
      h('time', { datetime: message.createdAt }, time(message.createdAt)),
      message.editedAt ? ' (edited)' : '',
    ),
    body,
    ...attachments,
  );
  if (actions && !message.deletedAt && me) {
    const own = message.senderId === me.id;
    const myRole = store.member(state.conversation.id, me.id)?.role;
    const canDelete = own || (state.conversation.kind === 'group' && (myRole === 'owner' || myRole === 'admin'));
    const controls = h('p', { class: 'message-actions' });
    if (own)
      controls.append(
        h(
          'button',
          {
            type: 'button',
            class: 'link',
            'aria-label': `Edit message: ${label}`,
            onclick: () => startEdit(element, body, controls, message, actions),
          },
          'Edit',
        ),
        ' ',
      );
    if (canDelete)
      controls.append(
        h(
          'button',
          {
            type: 'button',
            class: 'link',
            'aria-label': `Delete message: ${label}`,
            onclick: () => void actions.remove(message),
          },
          'Delete',
        ),
      );
    if (controls.childNodes.length > 0) element.append(controls);
  }
  return element;
}

/** Swaps the body for a labelled textarea: Enter or Save saves, Escape or Cancel puts the body back. */
function startEdit(
  element: HTMLElement,
  body: HTMLElement,
  controls: HTMLElement,
  message: Message,
  actions: MessageActions,
): void {
  const id = uniqueId('edit');
  const textarea = h('textarea', { id, rows: 2, maxlength: 4000 });
  textarea.value = message.body;
  const cancel = () => {
    form.replaceWith(body);
    controls.hidden = false;
    controls.querySelector('button')?.focus();
  };
  const save = async () => {
    const text = textarea.value;
    if (text.trim() === '' || text === message.body) return cancel();
    if (!(await actions.edit(message, text))) textarea.focus();
  };
  textarea.addEventListener('keydown', (event) => {
    if (event.key === 'Enter' && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      void save();
    } else if (event.key === 'Escape') cancel();
  });
  const form = h(
    'form',
    { class: 'edit', onsubmit: (event: Event) => (event.preventDefault(), void save()) },
    h('label', { for: id }, 'Edit message'),
    textarea,
    h(
      'div',
      { class: 'row' },
      h('button', { type: 'submit' }, 'Save'),
      h('button', { type: 'button', class: 'secondary', onclick: cancel }, 'Cancel'),
    ),
  );
  body.replaceWith(form);
  controls.hidden = true;
  textarea.focus();
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
