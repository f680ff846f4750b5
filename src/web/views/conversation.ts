// The open conversation: header, members (roles, add, remove, leave), the message log with older pages above,
// typing and "seen by" lines of fixed height (nothing moves when they change), and the composer (Enter sends,
// Shift+Enter starts a new line). Messages are placed by seq, each once; unsent ones follow, with their state.
import { api, ApiError } from '../api.js';
import type { Connection } from '../connection.js';
import { h, uniqueId } from '../dom.js';
import type { Outbox, Pending } from '../outbox.js';
import { nameOf, type ChatStore, type ConversationState } from '../store.js';
import type { Message } from '../../contract/messages.js';
import { AttachmentPicker } from './attach.js';
import { membersContent, type MemberActions } from './members.js';
import { messageElement, type MessageActions } from './message.js';
import { presenceDot } from './presence.js';

const TYPING_REFRESH_MS = 3_000;
const TYPING_IDLE_MS = 3_000;

export interface ConversationActions {
  back(): void;
  notice(text: string): void;
}

export class ConversationView {
  readonly element = h('section', { class: 'conversation-pane', 'aria-labelledby': 'conversation-title' });
  private id?: string;
  private log = h('div', {});
  private pendingList = h('div', {});
  private older = h('button', {});
  private typingLine = h('p', {});
  private seenLine = h('p', {});
  private members = h('section', {});
  private header = h('header', {});
  private picker = new AttachmentPicker();
  private readonly rendered = new Map<number, { element: HTMLElement; message: Message }>();
  private typingSentAt = 0;
  private typingIdle?: ReturnType<typeof setTimeout>;
  private readTimer?: ReturnType<typeof setTimeout>;
  private loadingOlder = false;

  constructor(
    private readonly store: ChatStore,
    private readonly connection: Connection,
    private readonly outbox: Outbox,
    private readonly actions: ConversationActions,
  ) {
    this.showEmpty();
    document.addEventListener('visibilitychange', this.onVisibility);
  }

  dispose(): void {
    document.removeEventListener('visibilitychange', this.onVisibility);
    clearTimeout(this.readTimer);
    this.stopTyping();
    this.picker.clear();
  }

  private readonly onVisibility = () => this.markReadSoon();

  private get memberActions(): MemberActions {
    return {
      store: this.store,
      notice: (text) => this.actions.notice(text),
      run: (action) => this.run(action),
      left: (conversationId) => {
        this.outbox.dropConversation(conversationId);
        this.store.remove(conversationId);
      },
    };
  }

  get openId(): string | undefined {
    return this.id;
  }

  async open(id: string): Promise<void> {
    const state = this.store.conversations.get(id);
    if (!state) return;
    this.stopTyping();
    this.id = id;
    this.rendered.clear();
    this.build(state);
    if (!state.historyLoaded) {
      try {
        const { messages } = await api.history(id);
        this.store.acceptHistory(id, messages);
      } catch (error) {
        this.fail(error);
      }
    }
    this.renderMessages();
    this.markReadSoon();
  }

  close(): void {
    this.stopTyping();
    this.picker.clear();
    this.id = undefined;
    this.showEmpty();
  }

  focusComposer(): void {
    this.element.querySelector<HTMLTextAreaElement>('textarea')?.focus();
  }

  // --- what the store's changes redraw ---

  renderHeader(): void {
    const state = this.current();
    if (state) this.header.replaceChildren(...this.headerContent(state));
  }

  renderMembers(): void {
    const state = this.current();
    if (state) this.members.replaceChildren(...membersContent(state, this.memberActions));
  }

  /** `rebuild` redraws every message: after the member list changed, senders' names may have too. */
  renderMessages(rebuild = false): void {
    const state = this.current();
    if (!state) return;
    const { scrollTop, scrollHeight, clientHeight } = this.log;
    const atBottom = scrollHeight - scrollTop - clientHeight < 48;
    const lowestBefore = Math.min(...this.rendered.keys());
    if (rebuild) {
      for (const { element } of this.rendered.values()) element.remove();
      this.rendered.clear();
    }
    for (const message of [...state.messages.values()].sort((a, b) => a.seq - b.seq)) {
      const held = this.rendered.get(message.seq);
      if (held?.message === message) continue;
      const element = messageElement(this.store, state, message, this.messageActions);
      if (held) held.element.replaceWith(element);
      else this.log.insertBefore(element, this.elementAfter(message.seq));
      this.rendered.set(message.seq, { element, message });
    }
    this.pendingList.replaceChildren(...this.outbox.of(state.conversation.id).map((item) => this.pendingElement(item)));
    this.older.hidden = !this.store.hasOlder(state.conversation.id);
    // At the bottom it stays there; older messages added above keep what the reader sees in place.
    if (atBottom) this.log.scrollTop = this.log.scrollHeight;
    else if (Math.min(...this.rendered.keys()) < lowestBefore)
      this.log.scrollTop = scrollTop + this.log.scrollHeight - scrollHeight;
    else this.log.scrollTop = scrollTop;
    this.renderSeen();
    this.markReadSoon();
  }

  renderTyping(): void {
    const state = this.current();
    if (!state) return;
    const names = [...state.typing.keys()]
      .map((userId) => this.store.member(state.conversation.id, userId))
      .filter(Boolean)
      .map((member) => nameOf(member!));
    this.typingLine.textContent =
      names.length === 0 ? '' : `${names.join(', ')} ${names.length === 1 ? 'is' : 'are'} typing…`;
  }

  /** "Seen by" under the user's latest message: every other member whose read cursor reached it. */
  renderSeen(): void {
    const state = this.current();
    const me = this.store.me;
    if (!state || !me) return;
    const mine = [...state.messages.values()]
      .filter((message) => message.senderId === me.id)
      .sort((a, b) => b.seq - a.seq)[0];
    if (!mine) {
      this.seenLine.textContent = '';
      return;
    }
    const seenBy = state.conversation.members
      .filter((member) => member.id !== me.id && member.lastReadSeq >= mine.seq)
      .map(nameOf);
    this.seenLine.textContent = seenBy.length > 0 ? `Seen by ${seenBy.join(', ')}` : 'Sent';
  }

  // --- building ---

  private current(): ConversationState | undefined {
    return this.id ? this.store.conversations.get(this.id) : undefined;
  }

  private showEmpty(): void {
    this.element.replaceChildren(
      h('h2', { id: 'conversation-title', class: 'visually-hidden' }, 'No conversation open'),
      h('p', { class: 'muted empty-pane' }, 'Pick a conversation, or find someone to message.'),
    );
  }

  private build(state: ConversationState): void {
    const composerId = uniqueId('composer');
    this.header = h('header', { class: 'conversation-header' }, ...this.headerContent(state));
    this.members = h(
      'section',
      { class: 'members', 'aria-label': 'Members', hidden: true },
      ...membersContent(state, this.memberActions),
    );
    this.older = h(
      'button',
      { type: 'button', class: 'secondary older', onclick: () => void this.loadOlder() },
      'Load earlier messages',
    );
    this.log = h('div', { class: 'log', role: 'log', 'aria-label': 'Messages', tabindex: 0 }, this.older);
    this.pendingList = h('div', { class: 'pending-list' });
    this.log.append(this.pendingList);
    this.typingLine = h('p', { class: 'typing', 'aria-live': 'polite' });
    this.seenLine = h('p', { class: 'seen', 'aria-live': 'polite' });
    const textarea = h('textarea', {
      id: composerId,
      rows: 2,
      maxlength: 4000,
      'aria-describedby': `${composerId}-hint`,
    });
    textarea.addEventListener('keydown', (event) => {
      if (event.key === 'Enter' && !event.shiftKey && !event.isComposing) {
        event.preventDefault();
        this.send(textarea);
      }
    });
    textarea.addEventListener('input', () => this.typed());
    // Files picked for one conversation do not follow the user to another.
    this.picker.clear();
    this.picker = new AttachmentPicker();
    const composer = h(
      'form',
      { class: 'composer', onsubmit: (event: Event) => (event.preventDefault(), this.send(textarea)) },
      h('label', { for: composerId }, 'Message'),
      h('div', { class: 'row' }, textarea, this.picker.control, h('button', { type: 'submit' }, 'Send')),
      this.picker.list,
      h('p', { class: 'hint', id: `${composerId}-hint` }, 'Enter sends, Shift+Enter starts a new line.'),
    );
    this.element.replaceChildren(
      this.header,
      this.members,
      this.log,
      h('div', { class: 'status-lines' }, this.typingLine, this.seenLine),
      composer,
    );
    this.renderTyping();
  }

  private headerContent(state: ConversationState): Node[] {
    const { conversation } = state;
    const other =
      conversation.kind === 'direct'
        ? conversation.members.find((member) => member.id !== this.store.me?.id)
        : undefined;
    const toggle = h(
      'button',
      {
        type: 'button',
        class: 'secondary',
        'aria-expanded': String(!this.members.hidden),
        onclick: () => {
          this.members.hidden = !this.members.hidden;
          toggle.setAttribute('aria-expanded', String(!this.members.hidden));
        },
      },
      `Members (${conversation.members.length})`,
    );
    return [
      h(
        'button',
        { type: 'button', class: 'secondary back', onclick: () => this.actions.back() },
        'Back to conversations',
      ),
      h(
        'h2',
        { id: 'conversation-title' },
        other ? presenceDot(this.store, other.id) : null,
        this.store.titleOf(conversation),
      ),
      toggle,
    ];
  }

  private pendingElement(item: Pending): HTMLElement {
    const status =
      item.state === 'failed'
        ? h(
            'span',
            { class: 'error' },
            `Not sent: ${item.error ?? 'refused'} `,
            h('button', { type: 'button', class: 'link', onclick: () => this.connection.retry(item) }, 'Try again'),
          )
        : item.state === 'sending'
          ? 'Sending…'
          : this.connection.connected
            ? 'Waiting to send…'
            : 'Waiting for the connection…';
    return h(
      'article',
      { class: 'message mine pending', 'data-client-msg-id': item.clientMsgId, 'aria-label': 'Your unsent message' },
      h('p', { class: 'meta' }, h('span', { class: 'sender' }, 'You'), ' ', h('span', { class: 'state' }, status)),
      h('p', { class: 'body' }, item.body),
      ...(item.attachments ?? []).map((attachment) => h('p', { class: 'attachment' }, attachment.name)),
    );
  }

  private elementAfter(seq: number): Node {
    let next: { seq: number; element: HTMLElement } | undefined;
    for (const [held, { element }] of this.rendered)
      if (held > seq && (!next || held < next.seq)) next = { seq: held, element };
    return next?.element ?? this.pendingList;
  }

  // --- actions ---

  private send(textarea: HTMLTextAreaElement): void {
    const body = textarea.value.trim() === '' ? '' : textarea.value;
    if (!this.id) return;
    if (this.picker.busy()) return this.actions.notice('A file is still uploading: send once it is attached.');
    const attachments = this.picker.ready();
    if (body === '' && attachments.length === 0) return;
    this.outbox.add(this.id, body, attachments);
    this.picker.clear();
    textarea.value = '';
    this.stopTyping();
    this.connection.pump();
    this.log.scrollTop = this.log.scrollHeight;
  }

  private typed(): void {
    if (!this.id) return;
    const now = Date.now();
    if (now - this.typingSentAt > TYPING_REFRESH_MS) {
      this.typingSentAt = now;
      this.connection.typing(this.id, true);
    }
    clearTimeout(this.typingIdle);
    this.typingIdle = setTimeout(() => this.stopTyping(), TYPING_IDLE_MS);
  }

  private stopTyping(): void {
    clearTimeout(this.typingIdle);
    if (this.id && this.typingSentAt > 0) this.connection.typing(this.id, false);
    this.typingSentAt = 0;
  }

  /**
   * Loads the page above the oldest held message, on the button only: loading on scroll-to-top also fired when
   * keyboard focus reached the button (focus scrolls it into view). The button stays enabled (disabling it would
   * drop a keyboard user's focus); when nothing older remains the focus moves to the log.
   */
  private async loadOlder(): Promise<void> {
    const state = this.current();
    if (!state || state.oldestSeq === undefined || this.loadingOlder) return;
    this.loadingOlder = true;
    this.log.setAttribute('aria-busy', 'true');
    try {
      const { messages } = await api.history(state.conversation.id, state.oldestSeq);
      if (messages.length === 0) state.oldestSeq = 1;
      const hadFocus = document.activeElement === this.older;
      this.store.acceptHistory(state.conversation.id, messages);
      if (hadFocus && !this.store.hasOlder(state.conversation.id)) this.log.focus();
    } catch (error) {
      this.fail(error);
    } finally {
      this.loadingOlder = false;
      this.log.removeAttribute('aria-busy');
    }
  }

  /** Marks the conversation read up to what is held, while it is open and the page is visible. */
  private markReadSoon(): void {
    clearTimeout(this.readTimer);
    this.readTimer = setTimeout(() => {
      const state = this.current();
      const me = this.store.me;
      if (!state || !me || document.visibilityState !== 'visible') return;
      if (state.unread > 0) {
        state.unread = 0;
        this.store.emit({ kind: 'list' });
      }
      const mine = this.store.member(state.conversation.id, me.id);
      if (mine && mine.lastReadSeq < state.seenSeq) this.connection.markRead(state.conversation.id, state.seenSeq);
    }, 250);
  }

  /** Edits and deletions go over REST; the answer is applied at once, `message:updated` brings it to the others. */
  private readonly messageActions: MessageActions = {
    edit: async (message, body) => {
      try {
        this.store.accept((await api.editMessage(message.conversationId, message.seq, body)).message);
        return true;
      } catch (error) {
        this.fail(error);
        return false;
      }
    },
    remove: (message) => this.run(() => api.deleteMessage(message.conversationId, message.seq)),
  };

  private async run(action: () => Promise<unknown>): Promise<void> {
    try {
      await action();
    } catch (error) {
      this.fail(error);
    }
  }

  private fail(error: unknown): void {
    this.actions.notice(error instanceof ApiError ? error.message : 'That did not work. Try again.');
  }
}
