import { expect } from 'chai';
import { Redis } from 'ioredis';
import { createLogger } from '../../src/core/logger.js';
import type { Database } from '../../src/db/database.js';
import { ReadYourWrites, UNKNOWN_FENCE } from '../../src/services/read-your-writes.js';
import { TEST_REDIS_PREFIX, TEST_REDIS_URL } from '../support/services.js';

// Fences shared through the real Redis by instances standing for separate processes (no replicas: seqs only).
describe('read-your-writes fences across processes', () => {
  const log = createLogger({ level: 'silent', instanceId: 'test', pretty: false });
  const noReplicas = { replicas: [] } as unknown as Database;
  const clients: Redis[] = [];
  const process = () => {
    const redis = new Redis(TEST_REDIS_URL, { keyPrefix: `${TEST_REDIS_PREFIX}ryw-test:` });
    clients.push(redis);
    return new ReadYourWrites(noReplicas, redis, 5_000, log);
  };
  after(() => clients.forEach((client) => client.disconnect()));

  it('when a user sends on one process, then another process knows the seq; a late, lower write never lowers it', async () => {
    const [a, b, c] = [process(), process(), process()];
    await a.wrote('u1', { conversationId: '7', seq: 5 });
    await b.wrote('u1', { conversationId: '7', seq: 3 }); // an earlier send whose fence arrives last
    expect(await c.fenceOf('u1', '7')).to.deep.equal({ seq: 5 });
    expect(await c.fenceOf('u1', '8')).to.equal(undefined);
    expect(await c.fenceOf('u2', '7')).to.equal(undefined);
  });

  it('when Redis cannot answer, then the fence is unknown (read the primary, skip the cache)', async () => {
    const broken = new Redis('redis://127.0.0.1:1', {
      lazyConnect: true,
      maxRetriesPerRequest: 0,
      enableOfflineQueue: false,
      retryStrategy: () => null,
    });
    broken.on('error', () => undefined);
    clients.push(broken);
    expect(await new ReadYourWrites(noReplicas, broken, 5_000, log).fenceOf('u1', '7')).to.equal(UNKNOWN_FENCE);
  });
});
