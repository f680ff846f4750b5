// A labelled search box over GET /api/users with a list of result buttons: used to open a direct conversation,
// to pick the members of a new group and to add a member to a group.
import { api, ApiError } from '../api.js';
import { h, uniqueId } from '../dom.js';
import { nameOf } from '../store.js';
import type { User } from '../../contract/users.js';

export interface PickerOptions {
  label: string;
  /** The action on each result, e.g. "Message" or "Add". */
  action: string;
  /** Users not to offer (the user, members already in). */
  exclude: () => Set<string>;
  onPick: (user: User) => void | Promise<void>;
  onError: (text: string) => void;
}

const SEARCH_DELAY_MS = 200;

export function userPicker(options: PickerOptions): HTMLElement {
  const inputId = uniqueId('search');
  const input = h('input', {
    id: inputId,
    type: 'search',
    autocomplete: 'off',
    spellcheck: 'false',
    placeholder: 'username',
  });
  const results = h('ul', { class: 'results', 'aria-label': 'People found' });
  let timer: ReturnType<typeof setTimeout> | undefined;
  let asked = 0;

  const search = async () => {
    const q = input.value.trim().toLowerCase();
    const ticket = ++asked;
    if (!q) return results.replaceChildren();
    try {
      const { users } = await api.searchUsers(q);
      if (ticket !== asked) return;
      const excluded = options.exclude();
      const offered = users.filter((user) => !excluded.has(user.id));
      results.replaceChildren(
        ...(offered.length === 0
          ? [h('li', { class: 'muted' }, `No one matches “${q}”.`)]
          : offered.map((user) =>
              h(
                'li',
                {},
                h(
                  'button',
                  {
                    type: 'button',
                    class: 'link',
                    onclick: async () => {
                      await options.onPick(user);
                      input.value = '';
                      results.replaceChildren();
                    },
                  },
                  `${options.action} ${nameOf(user)} (@${user.username})`,
                ),
              ),
            )),
      );
    } catch (error) {
      options.onError(error instanceof ApiError ? error.message : 'Searching failed.');
    }
  };
  input.addEventListener('input', () => {
    clearTimeout(timer);
    timer = setTimeout(() => void search(), SEARCH_DELAY_MS);
  });
  return h('div', { class: 'picker' }, h('label', { for: inputId }, options.label), input, results);
}
