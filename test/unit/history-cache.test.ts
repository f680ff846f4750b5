import { expect } from 'chai';
import type { Message } from '../../src/contract/messages.js';
import { HistoryCache, type HistoryWindow } from '../../src/services/history-cache.js';

const message = (seq: number, conversationId = 'c1'): Message => ({
  id: String(1000 + seq),
  conversationId,
  seq,
  senderId: 'u1',
  body: `m${seq}`,
  clientMsgId: `k${seq}`,
  createdAt: new Date(0).toISOString(),
  editedAt: null,
  deletedAt: null,
  attachments: [],
});
const seqsOf = (json: string | undefined) =>
  json === undefined ? undefined : (JSON.parse(json) as Message[]).map((m) => m.seq);

// The cache alone, with a loader standing in for the database: what it serves, and when it refuses to.
describe('hot-history cache', () => {
  let stored: number;
  let members: string[];
  let loads: number;
  let cache: HistoryCache;
  const windowOf = (count: number): HistoryWindow => {
    const from = Math.max(1, stored - count + 1);
    return {
      memberIds: members,
      lastSeq: stored,
      messages: Array.from({ length: stored - from + 1 }, (_, i) => message(from + i)),
    };
  };
  beforeEach(async () => {
    stored = 8;
    members = ['u1', 'u2'];
    loads = 0;
    cache = new HistoryCache(
      { conversations: 10, messagesPerConversation: 5, maxAgeMs: 60_000 },
      async (_id, count) => {
        loads += 1;
        return windowOf(count);
      },
    );
    cache.setLive(true);
    await cache.ensureLoaded('c1');
  });

  it('when a page lies within the window, then it is served newest first (or oldest first after a cursor); beyond it, not', () => {
    expect(seqsOf(cache.page('u1', 'c1', { limit: 3 }))).to.deep.equal([8, 7, 6]);
    expect(seqsOf(cache.page('u1', 'c1', { limit: 5 }))).to.deep.equal([8, 7, 6, 5, 4]);
    expect(cache.page('u1', 'c1', { limit: 6 })).to.equal(undefined);
    expect(seqsOf(cache.page('u1', 'c1', { before: 7, limit: 2 }))).to.deep.equal([6, 5]);
    expect(seqsOf(cache.page('u1', 'c1', { after: 5, limit: 10 }))).to.deep.equal([6, 7, 8]);
    expect(seqsOf(cache.page('u1', 'c1', { after: 8, limit: 10 }))).to.deep.equal([]);
    expect(cache.page('u1', 'c1', { after: 1, limit: 10 })).to.equal(undefined);
  });

  it('when the conversation is shorter than the window, then every page is served, down to seq 1', async () => {
    stored = 2;
    await cache.ensureLoaded('c2');
    expect(seqsOf(cache.page('u1', 'c2', { limit: 50 }))).to.deep.equal([2, 1]);
    expect(seqsOf(cache.page('u1', 'c2', { after: 0, limit: 50 }))).to.deep.equal([1, 2]);
  });

  it('when the reader is not in the member set, then nothing is served (the database decides)', () => {
    expect(cache.page('u3', 'c1', { limit: 3 })).to.equal(undefined);
  });

  it('when the next seq arrives, then it is appended and the window slides; a repeat is ignored', () => {
    cache.messageCreated(message(9));
    cache.messageCreated(message(9));
    expect(seqsOf(cache.page('u1', 'c1', { limit: 5 }))).to.deep.equal([9, 8, 7, 6, 5]);
    expect(cache.page('u1', 'c1', { limit: 3 })).to.include('"body":"m9"');
  });

  it('when a seq is skipped, then the conversation is dropped rather than served with a gap', () => {
    cache.messageCreated(message(10));
    expect(cache.page('u1', 'c1', { limit: 3 })).to.equal(undefined);
    expect(cache.stats().invalidations).to.deep.equal({ 'seq gap': 1 });
  });

  it('when a message is updated or membership changes, then the conversation is dropped', async () => {
    cache.messageUpdated(message(7));
    expect(cache.page('u1', 'c1', { limit: 3 })).to.equal(undefined);
    await cache.ensureLoaded('c1');
    cache.membershipChanged('c1');
    expect(cache.page('u1', 'c1', { limit: 3 })).to.equal(undefined);
  });

  it('when an event arrives while a load is in flight, then that load is not installed', async () => {
    cache.clear('test');
    let finish!: () => void;
    const slow = new HistoryCache(
      { conversations: 10, messagesPerConversation: 5, maxAgeMs: 60_000 },
      async (_id, count) => {
        const snapshot = windowOf(count); // the database as it was when the load read it
        await new Promise<void>((resolve) => (finish = resolve));
        return snapshot;
      },
    );
    slow.setLive(true);
    const loading = slow.ensureLoaded('c1');
    stored = 9;
    slow.messageCreated(message(9));
    finish();
    await loading;
    expect(slow.page('u1', 'c1', { limit: 3 })).to.equal(undefined);
    expect(slow.shouldLoad('c1', { limit: 3 })).to.equal(true);
  });

  it("when the reader's own last send is newer than the window, then the database answers", () => {
    expect(cache.page('u1', 'c1', { limit: 3 }, { seq: 9 })).to.equal(undefined);
    expect(seqsOf(cache.page('u1', 'c1', { limit: 3 }, { seq: 8 }))).to.deep.equal([8, 7, 6]);
    expect(cache.page('u1', 'c1', { limit: 3 }, { unknown: true })).to.equal(undefined);
  });

  it('when the event feed drops, then everything is cleared and nothing is served or loaded until it is back', async () => {
    cache.setLive(false, 'adapter reconnect');
    expect(cache.page('u1', 'c1', { limit: 3 })).to.equal(undefined);
    expect(cache.shouldLoad('c1', { limit: 3 })).to.equal(false);
    cache.setLive(true);
    expect(cache.page('u1', 'c1', { limit: 3 })).to.equal(undefined);
    expect(cache.stats()).to.include({ conversations: 0, live: true });
    expect(cache.stats().invalidations).to.deep.equal({ 'adapter reconnect': 1 });
    await cache.ensureLoaded('c1');
    expect(loads).to.equal(2);
  });

  it('when a load fails, then nothing is installed and the caller is not failed by it', async () => {
    const failing = new HistoryCache({ conversations: 10, messagesPerConversation: 5, maxAgeMs: 60_000 }, async () => {
      throw new Error('database down');
    });
    failing.setLive(true);
    await failing.ensureLoaded('c1');
    expect(failing.page('u1', 'c1', { limit: 3 })).to.equal(undefined);
  });

  it('when the size is 0, then the cache is off', () => {
    const off = new HistoryCache({ conversations: 0, messagesPerConversation: 5, maxAgeMs: 1 }, async () => undefined);
    off.setLive(true);
    expect(off.enabled).to.equal(false);
    expect(off.shouldLoad('c1', { limit: 3 })).to.equal(false);
  });
});
