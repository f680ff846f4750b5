// How an export behaves when the pool is busy or a page fails: before the response starts, a full queue is a
// 503 with Retry-After; once it has started, a full queue is waited out and a failure ends the stream with an
// error, while the process keeps serving.
import { expect } from 'chai';
import type { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { AppError, overloaded } from '../../src/core/errors.js';
import type { TaskRef } from '../../src/cpu/worker-pool.js';
import { ConversationExportService, type TaskRunner } from '../../src/services/export.service.js';
import { useTestApp, type TestApp } from '../support/app.js';
import { createGroup, register, request, uniqueName, type Account } from '../support/client.js';
import { fillPoolOfOne } from '../support/fixture-tasks.js';

/** The real pool, except that chosen calls (1-based) fail the way `failure` says. */
function failingOn(app: TestApp, calls: number[], failure: () => Error): TaskRunner & { calls: number } {
  const runner = {
    calls: 0,
    run<Input, Output>(task: TaskRef<Input, Output>, input: Input): Promise<Output> {
      runner.calls++;
      if (calls.includes(runner.calls)) return Promise.reject(failure());
      return app.parley.workerPool.run(task, input);
    },
  };
  return runner;
}

async function readAll(stream: Readable): Promise<{ lines: string[]; error?: Error }> {
  const chunks: Buffer[] = [];
  try {
    for await (const chunk of stream) chunks.push(chunk as Buffer);
  } catch (error) {
    return { lines: [], error: error as Error };
  }
  const text = await new Promise<string>((resolve, reject) => {
    const gunzip = createGunzip();
    let out = '';
    gunzip.on('data', (part: Buffer) => (out += part.toString('utf8')));
    gunzip.on('end', () => resolve(out));
    gunzip.on('error', reject);
    gunzip.end(Buffer.concat(chunks));
  });
  return { lines: text.split('\n').filter(Boolean) };
}

describe('conversation export under pressure', () => {
  const PAGE = 3;
  const MESSAGES = 10; // four pages of three, three, three and one
  const app = useTestApp({ PISCINA_MAX_THREADS: '1', PISCINA_MAX_QUEUE: '1' });
  let owner: Account;
  let conversationId: string;
  before(async () => {
    owner = await register(app.url);
    conversationId = await createGroup(app.url, owner, []);
    for (let i = 1; i <= MESSAGES; i++) {
      const sent = await request(app.url, 'POST', `/api/conversations/${conversationId}/messages`, {
        token: owner.accessToken,
        body: { body: `message ${i}`, clientMsgId: uniqueName('m') },
      });
      expect(sent.status).to.equal(201);
    }
  });

  const service = (runner: TaskRunner, maxConcurrent = 10) =>
    new ConversationExportService(
      app.parley.db,
      runner,
      { exportPageSize: PAGE, exportMaxConcurrent: maxConcurrent },
      app.parley.log,
    );

  it('when the queue is full as an export starts, then the client gets 503 overloaded with Retry-After', async () => {
    const full = await fillPoolOfOne(app.parley.workerPool, 1_000);
    const reply = await request(app.url, 'GET', `/api/conversations/${conversationId}/export`, {
      token: owner.accessToken,
    });
    await full.released;
    expect(reply.status).to.equal(503);
    expect(reply.headers.get('retry-after')).to.match(/^[1-9][0-9]*$/);
    expect(reply.body.error.code).to.equal('overloaded');
    const after = await request(app.url, 'GET', `/api/conversations/${conversationId}/export`, {
      token: owner.accessToken,
    });
    expect(after.status).to.equal(200);
  });

  it('when the queue is full in the middle of an export, then the export waits and still delivers every message', async () => {
    const runner = failingOn(app, [2, 3, 5], () => overloaded(1));
    const { lines, error } = await readAll(await service(runner).open(owner.user.id, conversationId));
    expect(error).to.equal(undefined);
    expect(lines.map((line) => JSON.parse(line).seq)).to.deep.equal(Array.from({ length: MESSAGES }, (_, i) => i + 1));
    expect(runner.calls).to.equal(4 + 3);
  });

  it('when a page fails in the middle of an export, then the stream ends with that error', async () => {
    const runner = failingOn(app, [2], () => new Error('page blew up'));
    const { error } = await readAll(await service(runner).open(owner.user.id, conversationId));
    expect(error?.message).to.equal('page blew up');
  });

  it('when the first page fails, then open() rejects, so the route can still answer with an error status', async () => {
    const runner = failingOn(app, [1], () => new Error('first page blew up'));
    const failure = await service(runner)
      .open(owner.user.id, conversationId)
      .then(
        () => undefined,
        (error: unknown) => error,
      );
    expect(failure).to.be.instanceOf(Error);
    expect(failure).to.not.be.instanceOf(AppError);
    expect((await request(app.url, 'GET', '/health/live')).status).to.equal(200);
  });

  it('export hogging attack: when a user opens a second export while the first runs, then 429; past EXPORT_MAX_CONCURRENT, 503; a finished one frees its place', async () => {
    const other = await register(app.url);
    const shared = await createGroup(app.url, owner, [other]);
    const exports = service(app.parley.workerPool, 1);
    const first = await exports.open(owner.user.id, shared);
    const again = await exports.open(owner.user.id, shared).then(
      () => undefined,
      (error: AppError) => error,
    );
    expect(again).to.include({ code: 'rate_limited' });
    expect(again?.retryAfterSec).to.be.at.least(1);
    const crowded = await exports.open(other.user.id, shared).then(
      () => undefined,
      (error: AppError) => error,
    );
    expect(crowded).to.include({ code: 'overloaded' });
    await readAll(first);
    const next = await exports.open(other.user.id, shared);
    next.destroy(); // a client that goes away mid-export frees its place too
    await new Promise((resolve) => next.once('close', resolve));
    (await exports.open(owner.user.id, shared)).destroy();
  });
});
