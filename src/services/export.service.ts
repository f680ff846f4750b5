// Conversation export: every message as NDJSON, gzip'd on the worker pool. The main thread reads the messages
// in keyset pages and the pool compresses each page into a complete gzip member; the response streams the members
// one after another (a valid gzip stream), so memory holds about two pages whatever the conversation's size.
import { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Message } from '../contract/messages.js';
import { AppError, notFound, overloaded, rateLimited } from '../core/errors.js';
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

/** How long a refused export should wait: exports take seconds. */
const EXPORT_RETRY_AFTER_SEC = 5;

export class ConversationExportService {
  /**
   * Users with an export open now. Exports and password hashing share the worker pool's queue: one user's exports
   * blocked 2 of 3 logins. So one export at a time per user, and at most `maxConcurrent` in the process, which
   * bounds the queue slots exports can hold (one page each at a time) and keeps the rest for logins.
   */
  private readonly exporting = new Set<string>();

  private readonly pageSize: number;
  private readonly maxConcurrent: number;

  constructor(
    private readonly db: Database,
    private readonly pool: TaskRunner,
    /** EXPORT_PAGE_SIZE and EXPORT_MAX_CONCURRENT, as config's `cpu` section has them. */
    limits: { exportPageSize: number; exportMaxConcurrent: number },
    private readonly log: Logger,
  ) {
    this.pageSize = limits.exportPageSize;
    this.maxConcurrent = limits.exportMaxConcurrent;
  }

  /**
   * Checks membership and compresses the first page before returning, so not-found and overloaded still reach the
   * client as proper HTTP errors; later failures end the stream with an error.
   */
  async open(userId: string, conversationId: string): Promise<Readable> {
    if (this.exporting.has(userId))
      throw rateLimited(EXPORT_RETRY_AFTER_SEC, 'One export at a time: wait for the current one to finish');
    if (this.exporting.size >= this.maxConcurrent)
      throw overloaded(EXPORT_RETRY_AFTER_SEC, 'Too many exports are running; try again shortly');
    this.exporting.add(userId);
    const done = () => this.exporting.delete(userId);
    let first: IteratorResult<Buffer>;
    let pages: AsyncGenerator<Buffer>;
    try {
      // One pool for the whole export, so every page sees the same server (replica lag aside, as history does).
      const reader = this.db.reader();
      if (!(await isMember(reader, conversationId, userId))) throw notFound('Conversation');
      const upToSeq = await messages.findLastSeq(reader, conversationId);
      pages = this.pages(reader, conversationId, upToSeq);
      first = await pages.next();
    } catch (error) {
      done();
      throw error;
    }
    const log = this.log;
    const stream = Readable.from(
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
    // 'close' comes after the end, an error, or a client that went away (the stream destroyed), read or not.
    stream.once('close', done);
    return stream;
  }

  /** Gzip members in seq order; reads the next page while the pool compresses the current one. */
  private async *pages(db: Queryable, conversationId: string, upToSeq: number): AsyncGenerator<Buffer> {
    const read = (afterSeq: number) =>
      messages.listExportPage(db, conversationId, { afterSeq, upToSeq, limit: this.pageSize });
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

  private async compress(records: Message[], patient: boolean): Promise<Buffer> {
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
