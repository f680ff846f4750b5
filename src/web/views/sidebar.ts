// The left pane: find people (opens a direct conversation), create a group, and the conversation list with each
// conversation's last message, unread count and, for direct ones, the other person's presence.
import { api, ApiError } from '../api.js';
import { h, replaceChildren } from '../dom.js';
import { nameOf, type ChatStore, type ConversationState } from '../store.js';
import type { User } from '../../contract/users.js';
import { presenceDot } from './presence.js';
import { userPicker } from './user-picker.js';

export interface SidebarActions {
  open(id: string): void;
  notice(text: string): void;
}

export function sidebar(store: ChatStore, actions: SidebarActions): { element: HTMLElement; render(): void } {
  const fail = (error: unknown) =>
    actions.notice(error instanceof ApiError ? error.message : 'That did not work. Try again.');
  const find = userPicker({
    label: 'Find people',
    action: 'Message',
    exclude: () => new Set(store.me ? [store.me.id] : []),
    onError: actions.notice,
    onPick: async (user) => {
      try {
        const { conversation } = await api.openDirect(user.id);
        store.upsert(conversation);
        actions.open(conversation.id);
      } catch (error) {
        fail(error);
      }
    },
  });

  const list = h('ul', { class: 'conversations', 'aria-label': 'Conversations' });
  const more = h('button', { type: 'button', class: 'secondary', hidden: true }, 'Load more conversations');
  more.addEventListener('click', async () => {
    try {
      const page = await api.conversations(store.nextPage);
      store.nextPage = page.next;
      for (const conversation of page.conversations) store.upsert(conversation);
    } catch (error) {
      fail(error);
    }
  });

  const render = () => {
    const items = store.sorted().map((state) => item(store, state, actions));
    replaceChildren(
      list,
      items.length > 0 ? items : [h('li', { class: 'muted empty' }, 'No conversations yet. Find someone above.')],
    );
    more.hidden = store.nextPage === undefined;
  };

  const element = h(
    'nav',
    { class: 'sidebar', 'aria-label': 'Conversations and people' },
    find,
    newGroup(store, actions, fail),
    h('h2', {}, 'Conversations'),
    list,
    more,
  );
  return { element, render };
}

function item(store: ChatStore, state: ConversationState, actions: SidebarActions): HTMLElement {
  const { conversation } = state;
  const title = store.titleOf(conversation);
  const other =
    conversation.kind === 'direct' ? conversation.members.find((member) => member.id !== store.me?.id) : undefined;
  const last = state.lastMessage;
  const preview = last
    ? `${last.senderId === store.me?.id ? 'You: ' : ''}${last.deletedAt ? 'Message deleted' : last.body || 'Attachment'}`
    : 'No messages yet';
  const unread =
    state.unread > 0
      ? h('span', { class: 'badge' }, String(state.unread), h('span', { class: 'visually-hidden' }, ' unread'))
      : null;
  return h(
    'li',
    {},
    h(
      'button',
      {
        type: 'button',
        class: 'conversation',
        'data-key': conversation.id,
        'data-conversation': conversation.id,
        'aria-current': store.openId === conversation.id ? 'true' : undefined,
        onclick: () => actions.open(conversation.id),
      },
      h('span', { class: 'title' }, other ? presenceDot(store, other.id) : null, title),
      unread,
      h('span', { class: 'preview' }, preview),
    ),
  );
}

function newGroup(store: ChatStore, actions: SidebarActions, fail: (error: unknown) => void): HTMLElement {
  const picked = new Map<string, User>();
  const title = h('input', { id: 'group-title', maxlength: 100, autocomplete: 'off' });
  const chosen = h('ul', { class: 'chips', 'aria-label': 'Members of the new group' });
  const drawChosen = () =>
    chosen.replaceChildren(
      ...[...picked.values()].map((user) =>
        h(
          'li',
          {},
          nameOf(user),
          ' ',
          h(
            'button',
            { type: 'button', class: 'link', onclick: () => (picked.delete(user.id), drawChosen()) },
            `Remove ${nameOf(user)}`,
          ),
        ),
      ),
    );
  const picker = userPicker({
    label: 'Add people',
    action: 'Add',
    exclude: () => new Set([...(store.me ? [store.me.id] : []), ...picked.keys()]),
    onError: actions.notice,
    onPick: (user) => {
      picked.set(user.id, user);
      drawChosen();
    },
  });
  const form = h(
    'form',
    {
      class: 'new-group',
      'aria-label': 'New group',
      onsubmit: async (event: Event) => {
        event.preventDefault();
        if (!title.value.trim()) return actions.notice('Give the group a name.');
        try {
          const { conversation } = await api.createGroup(title.value.trim(), [...picked.keys()]);
          store.upsert(conversation);
          title.value = '';
          picked.clear();
          drawChosen();
          details.open = false;
          actions.open(conversation.id);
        } catch (error) {
          fail(error);
        }
      },
    },
    h('label', { for: 'group-title' }, 'Group name'),
    title,
    picker,
    chosen,
    h('button', { type: 'submit' }, 'Create group'),
  );
  const details = h('details', { class: 'group-box' }, h('summary', {}, 'New group'), form);
  return details;
}
