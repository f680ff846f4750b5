// stream-publisher.ts writes entries into the Redis Streams adapter's stream by hand, in the adapter's private
// wire format. This compares them with what the installed adapter itself writes for the same broadcast, so an
// upgrade that changes the format fails here instead of silently delivering nothing across processes.
import { createServer } from 'node:http';
import { expect } from 'chai';
import { Redis } from 'ioredis';
import { Server } from 'socket.io';
import { createAdapter } from '@socket.io/redis-streams-adapter';
import { streamPublisher } from '../../../src/realtime/stream-publisher.js';
import { TEST_REDIS_PREFIX, TEST_REDIS_URL } from '../../support/services.js';
import { until } from '../../support/sockets.js';

type Entry = Record<string, string>;

async function lastEntry(redis: Redis, stream: string): Promise<Entry> {
  const [[, fields] = ['', []]] = await redis.xrevrange(stream, '+', '-', 'COUNT', 1);
  const entry: Entry = {};
  for (let i = 0; i < fields.length; i += 2) entry[fields[i]!] = fields[i + 1]!;
  return entry;
}

describe('realtime: the stream publisher speaks the adapter wire format', () => {
  let redis: Redis;
  let io: Server;
  const stream = `${TEST_REDIS_PREFIX}wire-format`;
  before(() => {
    redis = new Redis(TEST_REDIS_URL);
    // Never listening: the server is only there so that io.close() has an engine to close.
    io = new Server(createServer(), { adapter: createAdapter(redis, { streamName: stream }) });
  });
  after(async () => {
    await io.close();
    await redis.del(stream);
    redis.disconnect();
  });

  it('when the publisher and the installed adapter broadcast the same event to the same rooms, then the entries match field for field but the sender uid', async () => {
    const payload = { message: { id: '42', seq: 7, body: 'hello' } };
    io.to(['conv:1', 'conv:2']).emit('message:new', payload);
    await until(async () => (await redis.xlen(stream)) === 1, 5_000, "the adapter's entry");
    const theirs = await lastEntry(redis, stream);

    await streamPublisher(redis, stream, { timeoutMs: 2_000, backlogMax: 10 })([
      { rooms: ['conv:1', 'conv:2'], event: 'message:new', payload },
    ]);
    const ours = await lastEntry(redis, stream);

    expect(Object.keys(ours).sort()).to.deep.equal(Object.keys(theirs).sort());
    expect(ours.uid).to.equal('emitter');
    expect({ ...ours, uid: undefined, data: JSON.parse(ours.data!) }).to.deep.equal({
      ...theirs,
      uid: undefined,
      data: JSON.parse(theirs.data!),
    });
  });
});
