// The composer's files: an "Attach files" button, and a list of the files picked for the next message, each
// uploading (with its progress), ready (with a Remove button) or refused (with the server's sentence: too large,
// a type not accepted, the quota). A file is uploaded as soon as it is picked, so Send only names the uploads.
import { api, ApiError, type Upload } from '../api.js';
import { h, replaceChildren, uniqueId } from '../dom.js';
import type { PendingAttachment } from '../outbox.js';

/** The contract's limit per message (API.md, Attachments). */
export const MAX_ATTACHMENTS = 10;

interface Picked {
  /** Keeps keyboard focus on its Remove button while the list is redrawn (each progress event redraws it). */
  key: string;
  file: File;
  state: 'uploading' | 'ready' | 'failed';
  fraction: number;
  attachment?: PendingAttachment;
  error?: string;
  upload?: Upload;
}

export class AttachmentPicker {
  /** The button and its (hidden) file input, for the composer's row. */
  readonly control: HTMLElement;
  private readonly button: HTMLButtonElement;
  readonly list = h('ul', { class: 'picked-files', 'aria-label': 'Files for the next message' });
  private readonly input: HTMLInputElement;
  private picked: Picked[] = [];

  constructor() {
    this.input = h('input', { type: 'file', multiple: true, hidden: true, 'aria-label': 'Files to attach' });
    this.input.addEventListener('change', () => {
      this.pick([...(this.input.files ?? [])]);
      // The same file may be picked again after a Remove.
      this.input.value = '';
    });
    this.button = h(
      'button',
      { type: 'button', class: 'secondary', onclick: () => this.input.click() },
      'Attach files',
    );
    this.control = h('span', { class: 'attach' }, this.button, this.input);
    this.render();
  }

  /** Whether a picked file is still on its way up: a message sent now would go without it. */
  busy(): boolean {
    return this.picked.some((item) => item.state === 'uploading');
  }

  /** The uploads the next message carries. */
  ready(): PendingAttachment[] {
    return this.picked.flatMap((item) => (item.state === 'ready' && item.attachment ? [item.attachment] : []));
  }

  /** After a send, or when the conversation is left: uploads still running are cancelled. */
  clear(): void {
    for (const item of this.picked) item.upload?.abort();
    this.picked = [];
    this.render();
  }

  private pick(files: File[]): void {
    for (const file of files) {
      const item: Picked = { key: uniqueId('picked'), file, state: 'uploading', fraction: 0 };
      this.picked.push(item);
      if (this.picked.filter((other) => other.state !== 'failed').length > MAX_ATTACHMENTS) {
        this.fail(item, `At most ${MAX_ATTACHMENTS} files go with one message.`);
        continue;
      }
      item.upload = api.uploadAttachment(file, (fraction) => {
        item.fraction = fraction;
        this.render();
      });
      item.upload.done.then(
        (attachment) => {
          item.state = 'ready';
          item.attachment = {
            id: attachment.id,
            name: attachment.name,
            size: attachment.size,
            contentType: attachment.contentType,
          };
          this.render();
        },
        (error: unknown) => {
          if (error instanceof ApiError && error.code === 'aborted') return;
          this.fail(item, error instanceof ApiError ? error.message : 'The upload did not work. Try again.');
        },
      );
    }
    this.render();
  }

  private fail(item: Picked, error: string): void {
    item.state = 'failed';
    item.error = error;
    this.render();
  }

  private remove(item: Picked): void {
    item.upload?.abort();
    this.picked = this.picked.filter((other) => other !== item);
    this.render();
    this.button.focus();
  }

  private render(): void {
    this.list.hidden = this.picked.length === 0;
    replaceChildren(
      this.list,
      this.picked.map((item) => {
        const name = item.file.name;
        const status =
          item.state === 'uploading'
            ? h(
                'span',
                {},
                ' ',
                h('progress', { max: 1, value: item.fraction, 'aria-label': `Uploading ${name}` }),
                ` ${Math.round(item.fraction * 100)}%`,
              )
            : item.state === 'ready'
              ? ` (${Math.ceil((item.attachment?.size ?? 0) / 1024)} KB)`
              : h('span', { class: 'error', role: 'alert' }, ` Not attached: ${item.error}`);
        return h(
          'li',
          { 'data-state': item.state },
          name,
          status,
          ' ',
          h(
            'button',
            {
              type: 'button',
              class: 'link',
              'aria-label': `Remove ${name}`,
              'data-key': item.key,
              onclick: () => this.remove(item),
            },
            'Remove',
          ),
        );
      }),
    );
  }
}
