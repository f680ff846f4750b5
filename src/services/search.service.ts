// Message search over the caller's conversations (deleted messages never match), best match first, paged by an
// opaque keyset cursor. Runs on a replica when one is configured: a search tolerates replication lag.
import { notFound, validationFailed } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import type { Database } from '../db/database.js';
import { isMember } from '../db/conversations.repository.js';
import { reindexBatch, searchMessages, setSearchLanguage, type SearchHit } from '../db/search.repository.js';
import type { SearchPage } from '../contract/messages.js';

export interface SearchRequest {
  q: string;
  conversationId?: string;
  limit: number;
  before?: string;
}

const REINDEX_BATCH = 5_000;

export class SearchService {
  private reindexing?: Promise<void>;
  private stopped = false;

  constructor(
    private readonly db: Database,
    private readonly log: Logger,
  ) {}

  /**
   * Makes SEARCH_LANGUAGE the indexing language; when it changed, re-indexes the stored messages in the
   * background, in batches (searches meanwhile match the messages already re-indexed, and all new ones).
   */
  async useLanguage(language: string): Promise<void> {
    if (!(await setSearchLanguage(this.db.primary, language))) return;
    this.log.warn({ language }, 'search language changed: re-indexing stored messages');
    this.reindexing = this.reindexAll().catch((error: unknown) =>
      this.log.error({ err: error }, 'search re-index failed'),
    );
  }

  async close(): Promise<void> {
    this.stopped = true;
    await this.reindexing;
  }

  async search(userId: string, request: SearchRequest): Promise<SearchPage> {
    const after = request.before === undefined ? undefined : readCursor(request.before);
    // On a replica in rotation (the primary when none is, or when the replica fails to answer).
    const hits = await this.db.read(undefined, async (reader) => {
      if (request.conversationId !== undefined && !(await isMember(reader, request.conversationId, userId)))
        throw notFound('Conversation');
      return searchMessages(reader, {
        userId,
        text: request.q,
        conversationId: request.conversationId,
        limit: request.limit + 1,
        after,
      });
    });
    const page = hits.slice(0, request.limit);
    const messages = page.map((hit) => ({ ...hit.message, snippet: hit.snippet }));
    return hits.length > request.limit ? { messages, next: cursorOf(page[page.length - 1]!) } : { messages };
  }

  private async reindexAll(): Promise<void> {
    let afterId: string | undefined = '0';
    let done = 0;
    while (afterId !== undefined && !this.stopped) {
      afterId = await reindexBatch(this.db.primary, afterId, REINDEX_BATCH);
      if (afterId !== undefined) done += REINDEX_BATCH;
    }
    this.log.info({ approximately: done, complete: !this.stopped }, 'search re-index finished');
  }
}

const cursorOf = (hit: SearchHit): string =>
  Buffer.from(JSON.stringify([hit.rank, hit.message.id])).toString('base64url');

function readCursor(cursor: string): { rank: string; id: string } {
  try {
    const [rank, id] = JSON.parse(Buffer.from(cursor, 'base64url').toString()) as unknown[];
    if (
      typeof rank === 'string' &&
      Number.isFinite(Number(rank)) &&
      typeof id === 'string' &&
      /^[1-9]\d{0,18}$/.test(id) &&
      BigInt(id) < 2n ** 63n
    )
      return { rank, id };
  } catch {
    // refused below
  }
  throw validationFailed('Query is invalid', { fields: { before: 'not a cursor from a previous page' } });
}
