// A presence dot with its words for screen readers (colour alone carries no meaning).
import { h } from '../dom.js';
import type { ChatStore } from '../store.js';

export function presenceDot(store: ChatStore, userId: string): HTMLElement {
  const status = store.presence.get(userId)?.status ?? 'offline';
  return h(
    'span',
    { class: `dot ${status}`, 'data-presence': userId, 'data-status': status },
    h('span', { class: 'visually-hidden' }, `${status}, `),
  );
}
