// Exports as jobs: 202 and a job to follow, the jobs app (in this process) writes the file, which downloads only
// for its owner while a member; bad input gets the contract's error shape; files go after EXPORT_TTL.
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { expect } from 'chai';
import { startTestApp, type TestApp } from '../../support/app.js';
import { createGroup, register, request, sendMessage } from '../../support/client.js';
import { startJobsInProcess } from '../../support/jobs.js';
import { TEST_REDIS_PREFIX } from '../../support/services.js';
import { until } from '../../support/sockets.js';

async function download(url: string, token: string): Promise<{ status: number; type: string | null; body: Buffer }> {
  const response = await fetch(url, { headers: { authorization: `Bearer ${token}` } });
  return {
    status: response.status,
    type: response.headers.get('content-type'),
    body: Buffer.from(await response.arrayBuffer()),
  };
}

describe('jobs: exports as background jobs', function () {
  this.timeout(30_000);
  let api: TestApp;
  let dir: string;
  let env: Record<string, string>;
  let jobs: Awaited<ReturnType<typeof startJobsInProcess>> | undefined;

  beforeEach(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'parley-exports-'));
    env = {
      REDIS_PREFIX: `${TEST_REDIS_PREFIX}exports${Date.now()}:`,
      EXPORTS_DIR: dir,
      EXPORT_TTL: '3s',
      EXPORT_PAGE_SIZE: '2',
      JOBS_RELAY_INTERVAL_MS: '50',
    };
    api = await startTestApp(env);
  });
  afterEach(async () => {
    await jobs?.stop();
    jobs = undefined;
    await api.close();
    await rm(dir, { recursive: true, force: true });
  });

  const jobOf = async (token: string, id: string) =>
    (await request(api.url, 'GET', `/api/jobs/${id}`, { token })).body.job;

  it('when a member asks for an export, then the job runs to done and its file downloads only for its owner while a member', async () => {
    const owner = await register(api.url);
    const member = await register(api.url);
    const stranger = await register(api.url);
    const conversationId = await createGroup(api.url, owner, [member]);
    const sent = [];
    for (let i = 0; i < 5; i++)
      sent.push(await sendMessage(api.url, i % 2 ? member : owner, conversationId, `line ${i}`));

    const started = await request(api.url, 'POST', `/api/conversations/${conversationId}/exports`, {
      token: owner.accessToken,
    });
    expect(started.status).to.equal(202);
    expect(started.body.job).to.deep.include({ kind: 'export', status: 'queued' });
    const id = started.body.job.id as string;
    // A second one while the first is unfinished: 409 with the running job's id.
    const again = await request(api.url, 'POST', `/api/conversations/${conversationId}/exports`, {
      token: owner.accessToken,
    });
    expect(again.status).to.equal(409);
    expect(again.body.error).to.deep.include({ code: 'conflict', details: { jobId: id } });
    // Someone else's job is not found, as if it did not exist.
    expect((await request(api.url, 'GET', `/api/jobs/${id}`, { token: member.accessToken })).body.error.code).to.equal(
      'not_found',
    );

    jobs = await startJobsInProcess(env);
    await until(async () => (await jobOf(owner.accessToken, id)).status === 'done', 15_000, 'export done');
    const job = await jobOf(owner.accessToken, id);
    expect(job.url).to.equal(`/api/jobs/${id}/file`);
    const file = await download(api.url + job.url, owner.accessToken);
    expect(file.status).to.equal(200);
    expect(file.type).to.equal('application/gzip');
    const lines = gunzipSync(file.body)
      .toString('utf8')
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { id: string; body: string });
    expect(lines.map((m) => m.id)).to.deep.equal(sent.map((m) => m.id));
    expect(lines.map((m) => m.body)).to.deep.equal(sent.map((m) => m.body));

    // Another member, a stranger: 404 with the contract's shape.
    for (const who of [member, stranger]) {
      const refused = await request(api.url, 'GET', `/api/jobs/${id}/file`, { token: who.accessToken });
      expect(refused.status).to.equal(404);
      expect(refused.body.error.code).to.equal('not_found');
    }
    // The owner once removed from the conversation: 404 too.
    expect(
      (
        await request(api.url, 'DELETE', `/api/conversations/${conversationId}/members/${owner.user.id}`, {
          token: owner.accessToken,
        })
      ).status,
    ).to.equal(204);
    expect((await download(api.url + job.url, owner.accessToken)).status).to.equal(404);
    // A new export is allowed once the previous is finished (then refused: not a member).
    expect(
      (await request(api.url, 'POST', `/api/conversations/${conversationId}/exports`, { token: owner.accessToken }))
        .status,
    ).to.equal(404);
  });

  it('when EXPORT_TTL has passed, then the file and the job are gone', async () => {
    const owner = await register(api.url);
    const conversationId = await createGroup(api.url, owner, [await register(api.url)]);
    await sendMessage(api.url, owner, conversationId, 'short-lived');
    jobs = await startJobsInProcess(env);
    const id = (
      await request(api.url, 'POST', `/api/conversations/${conversationId}/exports`, { token: owner.accessToken })
    ).body.job.id as string;
    await until(async () => (await jobOf(owner.accessToken, id)).status === 'done', 15_000, 'export done');
    expect((await readdir(dir)).filter((name) => name.endsWith('.ndjson.gz'))).to.have.length(1);
    await until(
      async () => (await request(api.url, 'GET', `/api/jobs/${id}`, { token: owner.accessToken })).status === 404,
      15_000,
      'job expired',
    );
    expect(await readdir(dir)).to.deep.equal([]);
    expect((await request(api.url, 'GET', `/api/jobs/${id}/file`, { token: owner.accessToken })).status).to.equal(404);
  });

  it('when the input is bad, then the answer is the contract error: not a member, unknown ids, no credential', async () => {
    const owner = await register(api.url);
    const stranger = await register(api.url);
    const conversationId = await createGroup(api.url, owner, [await register(api.url)]);
    const notMember = await request(api.url, 'POST', `/api/conversations/${conversationId}/exports`, {
      token: stranger.accessToken,
    });
    expect(notMember.status).to.equal(404);
    expect(notMember.body).to.deep.equal({ error: { code: 'not_found', message: 'Conversation not found' } });
    for (const bad of ['abc', '0', '99999999999999999999999', '-1']) {
      expect(
        (await request(api.url, 'POST', `/api/conversations/${bad}/exports`, { token: owner.accessToken })).body.error
          .code,
      ).to.equal('not_found');
      expect(
        (await request(api.url, 'GET', `/api/jobs/${bad}`, { token: owner.accessToken })).body.error.code,
      ).to.equal('not_found');
    }
    expect((await request(api.url, 'GET', '/api/jobs/123456789', { token: owner.accessToken })).status).to.equal(404);
    const anonymous = await request(api.url, 'POST', `/api/conversations/${conversationId}/exports`);
    expect(anonymous.status).to.equal(401);
    expect(anonymous.body.error.code).to.equal('unauthorized');
  });
});
