// Search benchmark: 1,000,000 stored messages (20,000 conversations of 50), generated in PostgreSQL by one
// INSERT ... SELECT over generate_series, and the p99 of GET /api/search/messages for single-word queries of a
// user in 50 of those conversations, through a real Parley process. Baseline in the same run: a 20-message
// history page of one of the user's conversations, the cheapest authenticated read.
//
//   npm run build && npx tsx test/bench/search.ts        (not part of `npm test`; needs PostgreSQL and Redis as the tests do)
//
// Environment: TEST_DATABASE_URL (admin URL, as for the tests), BENCH_REQUESTS (per query and concurrency, default 300),
// BENCH_MESSAGES_PER_CONVERSATION (default 50), BENCH_CONVERSATIONS (default 20000).
import { performance } from 'node:perf_hooks';
import pg from 'pg';
import { register, request, type Account } from '../support/client.js';
import { startServer, stopAll } from '../support/processes.js';
import { createTestDatabase, dropTestDatabase, testDatabaseUrl } from '../support/services.js';

const CONVERSATIONS = Number(process.env.BENCH_CONVERSATIONS ?? 20_000);
const PER_CONVERSATION = Number(process.env.BENCH_MESSAGES_PER_CONVERSATION ?? 50);
const REQUESTS = Number(process.env.BENCH_REQUESTS ?? 300);
const MEMBER_OF = 50;
// Words w0..w4999; random()^3 skews toward low numbers, so w0 is in ~45% of messages, w40 in ~2%, w4000 in ~0.1%.
const VOCABULARY = 5_000;
const WORDS_PER_MESSAGE = 10;

const percentile = (values: number[], p: number): number => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
};

async function load(db: pg.Client, searcher: Account, other: Account): Promise<string[]> {
  const started = performance.now();
  await db.query(
    `INSERT INTO conversations (kind, title, created_by, last_seq) SELECT 'group', 'c' || g, $1, $2 FROM generate_series(1, $3) g`,
    [other.user.id, PER_CONVERSATION, CONVERSATIONS],
  );
  await db.query(
    `INSERT INTO conversation_members (conversation_id, user_id, role) SELECT id, $1, 'owner' FROM conversations`,
    [other.user.id],
  );
  // The searcher's 50 conversations are spread over the id range.
  const { rows } = await db.query<{ id: string }>(
    `INSERT INTO conversation_members (conversation_id, user_id)
     SELECT id, $1 FROM conversations WHERE id % $2 = 0 ORDER BY id LIMIT $3 RETURNING conversation_id AS id`,
    [searcher.user.id, Math.floor(CONVERSATIONS / MEMBER_OF), MEMBER_OF],
  );
  // Bulk load as one statement; the GIN index is built afterwards, as one would for a bulk import.
  await db.query('DROP INDEX messages_search_idx');
  await db.query(
    `INSERT INTO messages (conversation_id, seq, sender_id, body, client_msg_id, search_vector)
     SELECT b.conversation_id, b.seq, $1, b.body, 'bench-' || b.conversation_id || '-' || b.seq, to_tsvector('simple', b.body)
       FROM (SELECT c.id AS conversation_id, s.seq,
                    (SELECT string_agg('w' || floor(random() ^ 3 * $3)::int, ' ') FROM generate_series(1, $4) w WHERE s.seq > 0) AS body
               FROM conversations c CROSS JOIN generate_series(1, $2) AS s(seq)) b`,
    [other.user.id, PER_CONVERSATION, VOCABULARY, WORDS_PER_MESSAGE],
  );
  const loaded = performance.now();
  await db.query('CREATE INDEX messages_search_idx ON messages USING gin (search_vector) WHERE deleted_at IS NULL');
  await db.query('ANALYZE');
  const { rows: count } = await db.query<{ n: string }>('SELECT count(*) AS n FROM messages');
  console.log(
    `loaded ${count[0]!.n} messages in ${((loaded - started) / 1000).toFixed(1)} s, GIN index and ANALYZE in ${((performance.now() - loaded) / 1000).toFixed(1)} s`,
  );
  return rows.map((row) => row.id);
}

async function measure(
  url: string,
  who: Account,
  path: string,
  concurrency: number,
): Promise<{ p50: number; p99: number; max: number; hits: number }> {
  const latencies: number[] = [];
  let hits = 0;
  const worker = async (count: number) => {
    for (let i = 0; i < count; i++) {
      const started = performance.now();
      const reply = await request(url, 'GET', path, { token: who.accessToken });
      latencies.push(performance.now() - started);
      if (reply.status !== 200) throw new Error(`${path}: ${reply.status} ${JSON.stringify(reply.body)}`);
      hits = (reply.body.messages as unknown[]).length;
    }
  };
  await worker(20); // warm-up, not counted
  latencies.length = 0;
  await Promise.all(Array.from({ length: concurrency }, () => worker(Math.ceil(REQUESTS / concurrency))));
  return { p50: percentile(latencies, 50), p99: percentile(latencies, 99), max: Math.max(...latencies), hits };
}

async function main(): Promise<void> {
  await createTestDatabase();
  const db = new pg.Client({ connectionString: testDatabaseUrl() });
  try {
    const server = await startServer({ RATE_LIMIT_API_PER_MIN: '1000000' });
    const [searcher, other] = await Promise.all([register(server.url), register(server.url)]);
    await db.connect();
    const mine = await load(db, searcher, other);
    const { rows } = await db.query<{ word: string; share: string }>(
      `SELECT w AS word, round(100.0 * count(*) FILTER (WHERE m.search_vector @@ to_tsquery('simple', w)) / count(*), 1)::text AS share
         FROM unnest(ARRAY['w0', 'w40', 'w4000']) w, messages m WHERE m.conversation_id = ANY($1::bigint[]) GROUP BY w ORDER BY w`,
      [mine],
    );
    console.log(
      `the searcher's ${mine.length} conversations hold ${mine.length * PER_CONVERSATION} messages; share containing each word: ${rows.map((r) => `${r.word} ${r.share}%`).join(', ')}`,
    );
    const cases = [
      { label: 'baseline: history page (20)', path: `/api/conversations/${mine[0]}/messages?limit=20` },
      { label: 'search w0 (common)', path: '/api/search/messages?q=w0' },
      { label: 'search w40 (mid)', path: '/api/search/messages?q=w40' },
      { label: 'search w4000 (rare)', path: '/api/search/messages?q=w4000' },
      { label: 'search w40, page 2', path: '' },
    ];
    const first = await request(server.url, 'GET', '/api/search/messages?q=w40', { token: searcher.accessToken });
    cases[4]!.path = `/api/search/messages?q=w40&before=${first.body.next}`;
    console.log(
      '\n| case | concurrency | results | p50 ms | p99 ms | max ms | p99 vs baseline |\n| --- | --- | --- | --- | --- | --- | --- |',
    );
    for (const concurrency of [1, 4]) {
      let baseline = 0;
      for (const { label, path } of cases) {
        const result = await measure(server.url, searcher, path, concurrency);
        if (!baseline) baseline = result.p99;
        console.log(
          `| ${label} | ${concurrency} | ${result.hits} | ${result.p50.toFixed(1)} | ${result.p99.toFixed(1)} | ${result.max.toFixed(1)} | ${(result.p99 / baseline).toFixed(2)} |`,
        );
      }
    }
    const plan = await db.query(
      `EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) SELECT m.id FROM conversation_members cm JOIN messages m ON m.conversation_id = cm.conversation_id
        WHERE cm.user_id = $1 AND m.deleted_at IS NULL AND m.search_vector @@ plainto_tsquery('simple', 'w0')`,
      [searcher.user.id],
    );
    console.log(`\nplan of the match for w0:\n${plan.rows.map((row) => `  ${row['QUERY PLAN']}`).join('\n')}`);
  } finally {
    await db.end().catch(() => undefined);
    await stopAll();
    await dropTestDatabase();
  }
}

await main();
