// The signed-in screen: header (who, connection banner, sign out), the sidebar and the open conversation. On a
// narrow screen one pane shows at a time. Store changes are routed to the part of the screen they concern.
import { api } from './api.js';
import { Connection, type Banner } from './connection.js';
import { h } from './dom.js';
import { Outbox } from './outbox.js';
import { nameOf, type ChatStore } from './store.js';
import { ConversationView } from './views/conversation.js';
import { sidebar } from './views/sidebar.js';

const BANNER_TEXT: Record<Banner, string> = {
  connecting: 'Connecting…',
  'catching-up': 'Catching up…',
  connected: 'Connected',
  offline: 'Offline: messages wait here and are sent when you are back',
  restarting: 'Server restarting: reconnecting…',
};

export function chatScreen(store: ChatStore, onSignedOut: (notice?: string) => void): { element: HTMLElement; stop(): void } {
  const me = store.me!;
  const alerts = h('p', { class: 'notice', role: 'alert' });
  let alertTimer: ReturnType<typeof setTimeout> | undefined;
  const notice = (text: string) => {
    alerts.textContent = text;
    clearTimeout(alertTimer);
    alertTimer = setTimeout(() => (alerts.textContent = ''), 8_000);
  };
  const banner = h('p', { class: 'banner', role: 'status', 'data-state': 'connecting' }, BANNER_TEXT.connecting);
  const outbox = new Outbox(me.id);
  // The pending messages' "waiting" lines follow the banner; the view exists only after the connection.
  let redrawPending = () => {};
  const connection = new Connection(store, outbox, {
    banner: (state) => {
      banner.dataset.state = state;
      banner.textContent = BANNER_TEXT[state];
      redrawPending();
    },
    notice,
    signedOut: () => stopAndLeave('You were signed out.'),
  });
  const layout = h('main', { class: 'layout', 'data-view': 'list' });
  const view = new ConversationView(store, connection, outbox, {
    back: () => {
      layout.dataset.view = 'list';
      store.openId = undefined;
      side.render();
    },
    notice,
  });
  const side = sidebar(store, {
    notice,
    open: (id) => {
      store.openId = id;
      layout.dataset.view = 'conversation';
      side.render();
      void view.open(id).then(() => view.focusComposer());
    },
  });
  redrawPending = () => view.renderMessages();
  layout.append(side.element, view.element);

  const unsubscribe = store.subscribe((change) => {
    if (change.kind === 'list' || change.kind === 'presence') side.render();
    if (change.kind === 'list' || change.kind === 'conversation') connection.lookUpNewContacts();
    if (change.kind === 'presence') (view.renderHeader(), view.renderMembers());
    if (!('id' in change) || change.id !== view.openId) return;
    if (change.kind === 'messages') view.renderMessages();
    else if (change.kind === 'typing') view.renderTyping();
    else if (change.kind === 'reads') view.renderSeen();
    else if (change.kind === 'conversation') {
      if (!store.conversations.has(change.id)) {
        view.close();
        layout.dataset.view = 'list';
      } else (view.renderHeader(), view.renderMembers(), view.renderMessages());
    }
  });
  outbox.onChange((conversationId) => {
    if (conversationId === view.openId) view.renderMessages();
  });
  const lapse = setInterval(() => store.lapseTyping(), 1_000);

  const stop = () => {
    clearInterval(lapse);
    unsubscribe();
    connection.close();
  };
  const stopAndLeave = (text?: string) => {
    stop();
    store.reset();
    onSignedOut(text);
  };
  const signOut = h('button', { type: 'button', class: 'secondary', onclick: async () => {
    try {
      await api.logout();
      stopAndLeave();
    } catch (error) {
      notice(error instanceof Error ? error.message : 'Signing out failed.');
    }
  } }, 'Sign out');

  const element = h(
    'div',
    { class: 'app' },
    h('header', { class: 'top' }, h('h1', {}, 'Parley'), banner, h('p', { class: 'me' }, `Signed in as ${nameOf(me)}`), signOut),
    alerts,
    layout,
  );
  side.render();
  return { element, stop };
}
