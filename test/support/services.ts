// The real PostgreSQL and Redis the tests run against. Each test run gets its own database and its own Redis key
// prefix, so runs never collide; both are removed at the end. A missing service fails the run with its name.
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { Redis } from 'ioredis';

export const ADMIN_DATABASE_URL = process.env.TEST_DATABASE_URL ?? 'postgres://root@127.0.0.1:5432/test';
export const TEST_REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

const runId = `${Date.now().toString(36)}_${randomBytes(3).toString('hex')}`;
export const TEST_DATABASE_NAME = `parley_test_${runId}`;
export const TEST_REDIS_PREFIX = `parley-test:${runId}:`;

export function testDatabaseUrl(): string {
  const url = new URL(ADMIN_DATABASE_URL);
  url.pathname = `/${TEST_DATABASE_NAME}`;
  return url.toString();
}

async function withAdmin<T>(work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: ADMIN_DATABASE_URL, connectionTimeoutMillis: 3000 });
  try {
    await client.connect();
  } catch (error) {
    throw new Error(
      `PostgreSQL is not reachable at ${ADMIN_DATABASE_URL} (set TEST_DATABASE_URL): ${(error as Error).message}`,
    );
  }
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

async function checkRedis(): Promise<void> {
  const redis = new Redis(TEST_REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  redis.on('error', () => undefined);
  try {
    await redis.connect();
    await redis.ping();
  } catch (error) {
    throw new Error(`Redis is not reachable at ${TEST_REDIS_URL} (set TEST_REDIS_URL): ${(error as Error).message}`);
  } finally {
    redis.disconnect();
  }
}

/** This run's database alone (at testDatabaseUrl()), for a run that needs no Redis. */
export async function createTestDatabase(): Promise<void> {
  await withAdmin((client) => client.query(`CREATE DATABASE ${TEST_DATABASE_NAME}`));
}

export async function dropTestDatabase(): Promise<void> {
  await withAdmin((client) => client.query(`DROP DATABASE IF EXISTS ${TEST_DATABASE_NAME} WITH (FORCE)`));
}

export async function createTestServices(): Promise<void> {
  await checkRedis();
  await createTestDatabase();
}

export async function dropTestServices(): Promise<void> {
  await dropTestDatabase();
  const redis = new Redis(TEST_REDIS_URL);
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${TEST_REDIS_PREFIX}*`, 'COUNT', 1000);
      if (keys.length > 0) await redis.del(...keys);
      cursor = next;
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
}

/** The operator token the test instances run with, and the header that shows /health's detail with it. */
export const TEST_HEALTH_TOKEN = 'test-health-detail-token-0123456789';
export const HEALTH_DETAIL = { authorization: `Bearer ${TEST_HEALTH_TOKEN}` };

/** The environment a Parley instance under test runs with: this run's database and key space. */
export function testEnv(overrides: Record<string, string> = {}): Record<string, string> {
  return {
    NODE_ENV: 'test',
    LOG_LEVEL: 'silent',
    DATABASE_URL: testDatabaseUrl(),
    REDIS_URL: TEST_REDIS_URL,
    REDIS_PREFIX: TEST_REDIS_PREFIX,
    // Cheap hashing keeps hundreds of test registrations fast; the algorithm and code path are the real ones.
    PASSWORD_HASH_COST: '10',
    // A real DATABASE_URL needs real secrets whatever NODE_ENV says (the public development secret is refused).
    JWT_SECRET: 'test-jwt-secret-0123456789abcdef0123456789',
    SESSION_SECRET: 'test-session-secret-0123456789abcdef0123456789',
    RATE_LIMIT_AUTH_PER_MIN: '100000',
    RATE_LIMIT_API_PER_MIN: '100000',
    // Tests sync as fast as they can; test/integration/realtime/sync-limits.test.ts sets its own budget.
    SYNC_PER_SEC: '1000',
    SYNC_BURST: '1000',
    HEALTH_DETAIL_TOKEN: TEST_HEALTH_TOKEN,
    ...overrides,
  };
}
