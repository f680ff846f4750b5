// Conversation export: every message as NDJSON, gzip'd on the worker pool. The main thread reads the messages
// in keyset pages and the pool compresses each page into a complete gzip member; the response streams the members
// one after another (a valid gzip stream), so memory holds about two pages whatever the conversation's size.
import { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { AppError, notFound } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import type { Database, Queryable } from '../db/database.js';
import { isMember } from '../db/conversations.repository.js';
import * as messages from '../db/messages.repository.js';
import { TASKS } from '../cpu/tasks.js';
import type { WorkerPool } from '../cpu/worker-pool.js';

// Once the response has started, a full queue is waited out rather than failing a half-sent export.
const MID_STREAM_ATTEMPTS = 20;
const MID_STREAM_BACKOFF_MS = 50;
// Compressed pages buffered ahead of the client: enough to overlap reading, compressing and sending.
const PAGES_AHEAD = 2;

/** The part of the worker pool an export needs. */
export type TaskRunner = Pick<WorkerPool, 'run'>;

export class ConversationExportService {
  constructor(
    private readonly db: Database,
    private readonly pool: TaskRunner,
    private readonly pageSize: number,
    private readonly log: Logger,
  ) {}

  /**
   * Checks membership and compresses the first page before returning, so not-found and overloaded still reach the
   * client as proper HTTP errors; later failures end the stream with an error.
   */
  async open(userId: string, conversationId: string): Promise<Readable> {
    // One pool for the whole export, so every page sees the same server (replica lag aside, as history does).
    const reader = this.db.reader();
    if (!(await isMember(reader, conversationId, userId))) throw notFound('Conversation');
    const upToSeq = await messages.findLastSeq(reader, conversationId);
    const pages = this.pages(reader, conversationId, upToSeq);
    const first = await pages.next();
    const log = this.log;
    return Readable.from(
      (async function* () {
        try {
          if (!first.done) yield first.value;
          yield* pages;
        } catch (error) {
          log.error({ err: error, conversationId }, 'export failed mid-stream');
          throw error;
        }
      })(),
      { objectMode: true, highWaterMark: PAGES_AHEAD },
    );
  }

  /** Gzip members in seq order; reads the next page while the pool compresses the current one. */
  private async *pages(db: Queryable, conversationId: string, upToSeq: number): AsyncGenerator<Buffer> {
    const read = (afterSeq: number) => messages.listExportPage(db, conversationId, { afterSeq, upToSeq, limit: this.pageSize });
    let rows = await read(0);
    let started = false;
    for (;;) {
      const last = rows.at(-1);
      // An empty conversation still yields one (empty) member: zero bytes would not be a gzip file.
      const [member, next] = await Promise.all([
        this.compress(rows, started),
        last && rows.length === this.pageSize ? read(last.seq) : Promise.resolve([]),
      ]);
      yield member;
      started = true;
      if (next.length === 0) return;
      rows = next;
    }
  }

  private async compress(records: messages.Message[], patient: boolean): Promise<Buffer> {
    for (let attempt = 1; ; attempt++) {
      try {
        const bytes = await this.pool.run(TASKS.gzipNdjsonPage, { records });
        // Structured clone hands back a Uint8Array; wrap it without copying.
        return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
      } catch (error) {
        const overloaded = error instanceof AppError && error.code === 'overloaded';
        if (!patient || !overloaded || attempt >= MID_STREAM_ATTEMPTS) throw error;
        await sleep(MID_STREAM_BACKOFF_MS * attempt);
      }
    }
  }
}
