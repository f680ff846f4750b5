// An export of 100,000 messages streams: the process's memory grows by a bounded amount while it runs, however
// large the export. The messages go in with one INSERT ... SELECT generate_series (the API would take minutes).
import { expect } from 'chai';
import v8 from 'node:v8';
import vm from 'node:vm';
import { useTestApp, type TestApp } from '../support/app.js';
import { createGroup, register, type Account } from '../support/client.js';
import { streamExport } from '../support/export-client.js';

const MESSAGES = 100_000;
// ~200-character bodies: about 30 MB of NDJSON, 100k row objects if anything held the whole export at once.
const BODY_PAD = 'x'.repeat(180);
// Measured on the 2-core dev box: streaming with the default 1,000-message pages grew the live heap by ~1 MB and
// RSS by ~38 MB (worker threads, zlib and socket buffers); the whole export in one page (EXPORT_PAGE_SIZE=100000)
// grew them by ~48 MB and ~226 MB. The bounds sit well above the first and well below the second.
const MAX_HEAP_GROWTH_MB = 16;
const MAX_RSS_GROWTH_MB = 128;

const mb = (bytes: number) => bytes / 1024 / 1024;

// A full GC before each heap sample measures what is retained, not garbage waiting for the collector (the test's
// own parsing makes plenty of that). This is how to reach gc() without starting node with --expose-gc.
v8.setFlagsFromString('--expose-gc');
const collectGarbage = vm.runInNewContext('gc') as () => void;

async function insertBulkMessages(
  app: TestApp,
  conversationId: string,
  senderId: string,
  count: number,
): Promise<void> {
  await app.parley.db.primary.query(
    `INSERT INTO messages (conversation_id, seq, sender_id, body, client_msg_id)
     SELECT $1::bigint, g, $2::bigint, 'message ' || g || ' ' || $4::text, 'bulk-' || $1::text || '-' || g FROM generate_series(1, $3::int) AS g`,
    [conversationId, senderId, count, BODY_PAD],
  );
  await app.parley.db.primary.query('UPDATE conversations SET last_seq = $2 WHERE id = $1', [conversationId, count]);
}

describe('conversation export memory', function () {
  this.timeout(120_000);
  const app = useTestApp({ DB_STATEMENT_TIMEOUT_MS: '60000' });
  let owner: Account;
  let conversationId: string;
  // Stopped however the test ends: a timed-out test is abandoned, and a sampler left collecting every 250 ms would
  // slow every later test of the run.
  let sampler: NodeJS.Timeout | undefined;
  after(() => clearInterval(sampler));
  before(async () => {
    owner = await register(app.url);
    conversationId = await createGroup(app.url, owner, []);
    await insertBulkMessages(app, conversationId, owner.user.id, MESSAGES);
  });

  it(`when ${MESSAGES} messages are exported, then all arrive in seq order while memory stays bounded`, async () => {
    collectGarbage();
    const baseline = process.memoryUsage();
    let peakHeap = baseline.heapUsed;
    let peakRss = baseline.rss;
    let samples = 0;
    const sample = () => {
      collectGarbage();
      const now = process.memoryUsage();
      peakHeap = Math.max(peakHeap, now.heapUsed);
      peakRss = Math.max(peakRss, now.rss);
      samples++;
    };
    // A full GC costs tens of ms in this process (mocha, tsx, the whole app): sampled every 50 ms, collecting
    // starved the export it measures (the test timed out at 120 s on a loaded machine).
    sampler = setInterval(sample, 250);
    let expectedSeq = 1;
    let outOfOrder = 0;
    try {
      const read = await streamExport(app.url, conversationId, owner.accessToken, (line) => {
        // Parse each line (it must be JSON) and keep nothing.
        const message = JSON.parse(line) as { seq: number; conversationId: string };
        if (message.seq !== expectedSeq || message.conversationId !== conversationId) outOfOrder++;
        expectedSeq++;
      });
      sample();
      expect(read.status).to.equal(200);
      expect(read.lines).to.equal(MESSAGES);
      expect(outOfOrder).to.equal(0);
      expect(samples, 'memory samples taken while streaming').to.be.at.least(5);
    } finally {
      clearInterval(sampler);
    }
    const heapGrowth = mb(peakHeap - baseline.heapUsed);
    const rssGrowth = mb(peakRss - baseline.rss);
    console.log(
      `      export of ${MESSAGES}: heap +${heapGrowth.toFixed(1)} MB, rss +${rssGrowth.toFixed(1)} MB (peak over baseline, ${samples} samples)`,
    );
    expect(heapGrowth).to.be.below(MAX_HEAP_GROWTH_MB);
    expect(rssGrowth).to.be.below(MAX_RSS_GROWTH_MB);
  });
});
