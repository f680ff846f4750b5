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

export function chatScreen(
  store: ChatStore,
  onSignedOut: (notice?: string) => void,
): { element: HTMLElement; stop(): void } {
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

  // Changes are drawn once per task: a sync that brings a thousand messages redraws the screen once, not 2,000 times.
  const due = new Set<'list' | 'presence' | 'messages' | 'typing' | 'reads' | 'conversation' | 'closed'>();
  const draw = () => {
    if (due.has('list') || due.has('presence')) side.render();
    if (due.has('list') || due.has('conversation')) connection.lookUpNewContacts();
    if (due.has('closed')) {
      view.close();
      layout.dataset.view = 'list';
    } else {
      if (due.has('presence') || due.has('conversation')) {
        view.renderHeader();
        view.renderMembers();
      }
      if (due.has('messages') || due.has('conversation')) view.renderMessages(due.has('conversation'));
      if (due.has('typing')) view.renderTyping();
      if (due.has('reads')) view.renderSeen();
    }
    due.clear();
  };
  const schedule = (what: Parameters<typeof due.add>[0]) => {
    if (due.size === 0) queueMicrotask(draw);
    due.add(what);
  };
  const unsubscribe = store.subscribe((change) => {
    if (!('id' in change)) return schedule(change.kind);
    // A conversation's title, members or unread count shows in the list too.
    if (change.kind === 'conversation') schedule('list');
    if (change.id !== view.openId) return;
    if (change.kind === 'conversation' && !store.conversations.has(change.id)) schedule('closed');
    else schedule(change.kind);
  });
  outbox.onChange((conversationId) => {
    if (conversationId === view.openId) schedule('messages');
  });
  const lapse = setInterval(() => store.lapseTyping(), 1_000);

  const stop = () => {
    clearInterval(lapse);
    view.dispose();
    unsubscribe();
    connection.close();
  };
  const stopAndLeave = (text?: string) => {
    stop();
    store.reset();
    onSignedOut(text);
  };
  const signOut = h(
    'button',
    {
      type: 'button',
      class: 'secondary',
      onclick: async () => {
        try {
          await api.logout();
          stopAndLeave();
        } catch (error) {
          notice(error instanceof Error ? error.message : 'Signing out failed.');
        }
      },
    },
    'Sign out',
  );

  const element = h(
    'div',
    { class: 'app' },
    h(
      'header',
      { class: 'top' },
      h('h1', {}, 'Parley'),
      banner,
      h('p', { class: 'me' }, `Signed in as ${nameOf(me)}`),
      signOut,
    ),
    alerts,
    layout,
  );
  side.render();
  return { element, stop };
}
