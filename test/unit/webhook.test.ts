import { expect } from 'chai';
import { createHmac } from 'node:crypto';
import { backoffMs, classify, parseRetryAfter, signature, WebhookClient } from '../../src/jobs/webhook.js';
import { isPublicAddress } from '../../src/jobs/webhook-target.js';
import { loadConfig, ConfigError } from '../../src/config.js';
import { planCapacity } from '../../src/capacity/plan.js';
import { testEnv } from '../support/services.js';

describe('webhook: signing, classification, backoff', () => {
  it('when a body is signed, then the header is sha256=<hex HMAC-SHA256 of the raw body>', () => {
    const body = '{"type":"message.offline"}';
    expect(signature('s3cret', body)).to.equal(`sha256=${createHmac('sha256', 's3cret').update(body).digest('hex')}`);
    expect(signature('s3cret', `${body} `)).to.not.equal(signature('s3cret', body));
  });

  it('when the receiver answers, then 2xx is done, 5xx and 429 are retried, other 4xx are not', () => {
    expect(classify(200, undefined)).to.deep.equal({ ok: true, status: 200 });
    expect(classify(204, undefined).ok).to.equal(true);
    expect(classify(503, undefined)).to.deep.include({ ok: false, retry: true });
    expect(classify(429, '7')).to.deep.include({ ok: false, retry: true, retryAfterMs: 7_000 });
    for (const status of [400, 401, 403, 404, 410, 413, 422])
      expect(classify(status, undefined)).to.deep.include({ ok: false, retry: false });
    expect(classify(302, undefined)).to.deep.include({ ok: false, retry: false });
  });

  it('when Retry-After is seconds or an HTTP date, then it becomes a delay; garbage is ignored', () => {
    const now = Date.parse('2026-12-01T12:00:00Z');
    expect(parseRetryAfter('120', now)).to.equal(120_000);
    expect(parseRetryAfter('Tue, 01 Dec 2026 12:00:30 GMT', now)).to.equal(30_000);
    expect(parseRetryAfter('Tue, 01 Dec 2026 11:00:00 GMT', now)).to.equal(0);
    expect(parseRetryAfter('soon', now)).to.equal(undefined);
    expect(parseRetryAfter(undefined, now)).to.equal(undefined);
  });

  it('when attempts fail, then the wait grows exponentially with jitter, is capped, and never undercuts Retry-After', () => {
    const settings = { backoffBaseMs: 1_000, backoffMaxMs: 30_000 };
    expect(backoffMs(1, settings, 0, () => 0)).to.equal(500);
    expect(backoffMs(1, settings, 0, () => 1)).to.equal(1_000);
    expect(backoffMs(4, settings, 0, () => 1)).to.equal(8_000);
    expect(backoffMs(20, settings, 0, () => 1)).to.equal(30_000);
    expect(backoffMs(2, settings, 60_000, () => 0.5)).to.equal(60_000);
    const spread = new Set(Array.from({ length: 20 }, () => backoffMs(3, settings)));
    expect(spread.size, 'jittered').to.be.greaterThan(1);
  });

  it('when an address is loopback, private, link-local or unique-local, then it is not public', () => {
    for (const address of [
      '127.0.0.1',
      '10.0.0.1',
      '172.16.5.4',
      '192.168.1.1',
      '169.254.169.254',
      '0.0.0.0',
      '100.64.0.1',
      '::1',
      'fe80::1',
      'fc00::1',
      '::ffff:10.0.0.1',
      '::',
    ])
      expect(isPublicAddress(address), address).to.equal(false);
    for (const address of ['93.184.216.34', '8.8.8.8', '2606:4700:4700::1111'])
      expect(isPublicAddress(address), address).to.equal(true);
  });
});

describe('webhook: the address is checked at every connection (DNS can change after start)', () => {
  it('when the host resolves to a loopback address and private targets are refused, then the POST fails without retry and connects nowhere', async () => {
    const client = new WebhookClient(
      { url: 'http://localhost:9/hooks', secret: 's', timeoutMs: 1_000, allowPrivate: false },
      1,
    );
    const outcome = await client.post('{}', 'delivery');
    client.close();
    expect(outcome).to.deep.include({ ok: false, retry: false });
    expect((outcome as { reason: string }).reason).to.match(/localhost resolves to .*loopback or private/);
  });

  it('when private targets are allowed, then the same host is connected to (here refused: a retryable failure)', async () => {
    const client = new WebhookClient(
      { url: 'http://localhost:9/hooks', secret: 's', timeoutMs: 1_000, allowPrivate: true },
      1,
    );
    const outcome = await client.post('{}', 'delivery');
    client.close();
    expect(outcome).to.deep.include({ ok: false, retry: true });
    expect((outcome as { reason: string }).reason).to.match(/ECONNREFUSED/);
  });
});

describe('config: background jobs', () => {
  const problems = (env: Record<string, string>) => {
    try {
      loadConfig(testEnv(env));
      return [];
    } catch (error) {
      if (error instanceof ConfigError) return error.problems;
      throw error;
    }
  };

  it('when the webhook URL is not http(s), lacks its secret or has no queue, then start-up names the problem', () => {
    expect(
      problems({ NOTIFY_WEBHOOK_URL: 'ftp://hooks.example.com/x', NOTIFY_WEBHOOK_SECRET: 'x'.repeat(40) }).join(),
    ).to.match(/NOTIFY_WEBHOOK_URL: must be an http or https URL/);
    expect(problems({ NOTIFY_WEBHOOK_URL: 'not a url', NOTIFY_WEBHOOK_SECRET: 'x'.repeat(40) }).join()).to.match(
      /NOTIFY_WEBHOOK_URL/,
    );
    expect(problems({ NOTIFY_WEBHOOK_URL: 'https://hooks.example.com/x' }).join()).to.match(
      /NOTIFY_WEBHOOK_SECRET: required/,
    );
    expect(
      problems({
        NOTIFY_WEBHOOK_URL: 'https://hooks.example.com/x',
        NOTIFY_WEBHOOK_SECRET: 'short',
        NODE_ENV: 'production',
      }).join(),
    ).to.match(/NOTIFY_WEBHOOK_SECRET: must be at least 32/);
    expect(
      problems({
        NOTIFY_WEBHOOK_URL: 'https://hooks.example.com/x',
        NOTIFY_WEBHOOK_SECRET: 'x'.repeat(40),
        REDIS_URL: '',
      }).join(),
    ).to.match(/notifications need REDIS_URL/);
    expect(problems({ EXPORT_TTL: 'tomorrow' }).join()).to.match(/EXPORT_TTL: expected a duration/);
  });

  it('when the settings are good, then the defaults are the documented ones and private targets are allowed only outside production', () => {
    const config = loadConfig(
      testEnv({
        NOTIFY_WEBHOOK_URL: 'https://hooks.example.com/x',
        NOTIFY_WEBHOOK_SECRET: 'x'.repeat(40),
        EXPORT_TTL: '90m',
      }),
    );
    expect(config.jobs.notify).to.deep.include({
      delayMs: 30_000,
      maxAttempts: 8,
      timeoutMs: 5_000,
      allowPrivate: true,
    });
    expect(config.jobs.exports.ttlMs).to.equal(90 * 60_000);
    const production = loadConfig(
      testEnv({
        NODE_ENV: 'production',
        NOTIFY_WEBHOOK_URL: 'https://hooks.example.com/x',
        NOTIFY_WEBHOOK_SECRET: 'x'.repeat(40),
      }),
    );
    expect(production.jobs.notify?.allowPrivate).to.equal(false);
  });
});

describe('capacity plan: the jobs app', () => {
  it('when planned with the jobs app, then its memory and connections come off the API share and every line has a reason', () => {
    const without = planCapacity({ cores: 4, memoryMb: 8192, dbMaxConnections: 100, hosts: 1 });
    const withJobs = planCapacity({ cores: 4, memoryMb: 8192, dbMaxConnections: 100, hosts: 1, withJobs: true });
    expect(without.jobs).to.equal(undefined);
    const jobs = withJobs.jobs!;
    expect(jobs.instances.value).to.equal(1);
    expect(jobs.concurrency.value).to.equal(32);
    expect(withJobs.memoryPerInstanceMb.value).to.be.below(without.memoryPerInstanceMb.value);
    // (100 - 5 reserved - 4 jobs) / (4 + 1) = 18 against (100 - 5) / 5 = 19.
    expect([withJobs.dbPoolMax.value, without.dbPoolMax.value]).to.deep.equal([18, 19]);
    const total =
      (withJobs.instances.value + 1) * withJobs.dbPoolMax.value + jobs.instances.value * jobs.dbPoolMax.value + 5;
    expect(total).to.be.at.most(100);
    expect(jobs.memoryGuardRestartMb.value).to.be.below(jobs.maxMemoryRestartMb.value);
    expect(jobs.maxMemoryRestartMb.value).to.be.below(jobs.heapLimitMb.value);
    for (const line of Object.values(jobs)) expect(line.reason).to.be.a('string').and.not.be.empty;
  });
});
