// A conversation's members: presence, name, role, and what the user may do to each (v2 roles: owners and admins
// add and remove, only the owner grants admin, anyone leaves), plus the picker that adds a member.
import { api } from '../api.js';
import { h } from '../dom.js';
import { nameOf, type ChatStore, type ConversationState } from '../store.js';
import type { Member, MemberRole } from '../../contract/conversations.js';
import { presenceDot } from './presence.js';
import { userPicker } from './user-picker.js';

export interface MemberActions {
  store: ChatStore;
  notice(text: string): void;
  /** Runs an API call, showing its error as a sentence. */
  run(action: () => Promise<unknown>): Promise<void>;
  /** The user left the conversation. */
  left(conversationId: string): void;
}

export function membersContent(state: ConversationState, actions: MemberActions): Node[] {
  const { conversation } = state;
  const { store } = actions;
  const me = store.me!;
  const myRole = conversation.members.find((member) => member.id === me.id)?.role;
  const manages = conversation.kind === 'group' && (myRole === 'owner' || myRole === 'admin');
  const rows = conversation.members.map((member) =>
    h(
      'li',
      { 'data-member': member.id },
      presenceDot(store, member.id),
      h('span', { class: 'name' }, member.id === me.id ? `${nameOf(member)} (you)` : nameOf(member)),
      conversation.kind === 'group' ? h('span', { class: 'role' }, member.role) : null,
      ...memberButtons(state, member, myRole, manages, actions),
    ),
  );
  const adder = manages
    ? userPicker({
        label: 'Add a member',
        action: 'Add',
        exclude: () =>
          new Set(store.conversations.get(conversation.id)?.conversation.members.map((member) => member.id) ?? []),
        onError: actions.notice,
        onPick: (user) =>
          actions.run(async () => store.upsert((await api.addMember(conversation.id, user.id)).conversation)),
      })
    : null;
  return [h('h3', {}, 'Members'), h('ul', { class: 'member-list' }, ...rows), ...(adder ? [adder] : [])];
}

function memberButtons(
  state: ConversationState,
  member: Member,
  myRole: MemberRole | undefined,
  manages: boolean,
  actions: MemberActions,
): Node[] {
  const { conversation } = state;
  if (conversation.kind !== 'group') return [];
  const { store } = actions;
  const button = (label: string, action: () => Promise<unknown>) =>
    h('button', { type: 'button', class: 'link', onclick: () => void actions.run(action) }, label);
  if (member.id === store.me!.id) {
    return [
      button('Leave group', async () => {
        await api.removeMember(conversation.id, member.id);
        actions.left(conversation.id);
      }),
    ];
  }
  const buttons: Node[] = [];
  if (myRole === 'owner' && member.role !== 'owner') {
    const next = member.role === 'admin' ? 'member' : 'admin';
    buttons.push(
      button(next === 'admin' ? `Make ${nameOf(member)} admin` : `Remove admin from ${nameOf(member)}`, async () =>
        store.upsert((await api.setRole(conversation.id, member.id, next)).conversation),
      ),
    );
  }
  if (manages && member.role !== 'owner') {
    buttons.push(
      button(`Remove ${nameOf(member)}`, async () => {
        await api.removeMember(conversation.id, member.id);
        store.upsert({ ...conversation, members: conversation.members.filter((other) => other.id !== member.id) });
      }),
    );
  }
  return buttons;
}
