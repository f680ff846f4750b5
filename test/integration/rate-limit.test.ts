import { expect } from 'chai';
import { startTestApp } from '../support/app.js';
import { register, request, uniqueName } from '../support/client.js';
import { TEST_REDIS_PREFIX } from '../support/services.js';

// Each test gets its own key space: the limiter's counts are per key and other tests log in from 127.0.0.1 too.
const isolatedPrefix = () => `${TEST_REDIS_PREFIX}${uniqueName('rl')}:`;
const login = (url: string, headers: Record<string, string> = {}) =>
  request(url, 'POST', '/api/auth/login', { body: { username: 'nobody_here', password: 'whatever1' }, headers });

describe('rate limits', () => {
  it('when two instances share Redis, then they share one count per IP on the auth routes', async () => {
    const env = { REDIS_PREFIX: isolatedPrefix(), RATE_LIMIT_AUTH_PER_MIN: '5' };
    const [a, b] = [await startTestApp(env), await startTestApp(env)];
    try {
      const statuses: number[] = [];
      for (const app of [a, b, a, b, a]) statuses.push((await login(app.url)).status);
      expect(statuses).to.deep.equal([401, 401, 401, 401, 401]);
      const limited = await login(b.url);
      expect(limited.status).to.equal(429);
      expect(limited.body.error.code).to.equal('rate_limited');
      expect(Number(limited.headers.get('retry-after'))).to.be.within(1, 60);
      // Health is never limited.
      expect((await request(b.url, 'GET', '/health/live')).status).to.equal(200);
      expect((await request(b.url, 'GET', '/health')).status).to.equal(200);
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });

  it('when a user exceeds the API limit, then 429 for that user only', async () => {
    const app = await startTestApp({ REDIS_PREFIX: isolatedPrefix(), RATE_LIMIT_API_PER_MIN: '3' });
    try {
      const [alice, bob] = await Promise.all([register(app.url), register(app.url)]);
      const statuses: number[] = [];
      for (let i = 0; i < 4; i++)
        statuses.push((await request(app.url, 'GET', '/api/me', { token: alice.accessToken })).status);
      expect(statuses).to.deep.equal([200, 200, 200, 429]);
      expect((await request(app.url, 'GET', '/api/me', { token: bob.accessToken })).status).to.equal(200);
    } finally {
      await app.close();
    }
  });

  it('when no proxy is trusted, then a forged X-Forwarded-For does not dodge the limit', async () => {
    const app = await startTestApp({ REDIS_PREFIX: isolatedPrefix(), RATE_LIMIT_AUTH_PER_MIN: '2', TRUST_PROXY: '0' });
    try {
      const statuses: number[] = [];
      for (let i = 0; i < 3; i++) statuses.push((await login(app.url, { 'x-forwarded-for': `203.0.113.${i}` })).status);
      expect(statuses).to.deep.equal([401, 401, 429]);
    } finally {
      await app.close();
    }
  });

  it('when one proxy is trusted, then the address it appended counts and entries a client prepended do not', async () => {
    const app = await startTestApp({ REDIS_PREFIX: isolatedPrefix(), RATE_LIMIT_AUTH_PER_MIN: '2', TRUST_PROXY: '1' });
    try {
      const statuses: number[] = [];
      // The same real client (appended by the proxy) with a different forged left-most entry each time.
      for (let i = 0; i < 3; i++)
        statuses.push((await login(app.url, { 'x-forwarded-for': `10.9.9.${i}, 198.51.100.7` })).status);
      expect(statuses).to.deep.equal([401, 401, 429]);
      // Another real client has its own count.
      expect((await login(app.url, { 'x-forwarded-for': '198.51.100.8' })).status).to.equal(401);
    } finally {
      await app.close();
    }
  });

  it('when Redis is not configured, then the limit counts in memory', async () => {
    const app = await startTestApp({ REDIS_URL: '', RATE_LIMIT_AUTH_PER_MIN: '2' });
    try {
      const statuses: number[] = [];
      for (let i = 0; i < 3; i++) statuses.push((await login(app.url)).status);
      expect(statuses).to.deep.equal([401, 401, 429]);
      expect(app.parley.redis).to.equal(undefined);
    } finally {
      await app.close();
    }
  });

  it('when Redis goes away, then requests are counted per process instead of failing, and the outage is logged once', async () => {
    const app = await startTestApp({ REDIS_PREFIX: isolatedPrefix(), RATE_LIMIT_API_PER_MIN: '2' });
    try {
      const alice = await register(app.url);
      const logged: string[] = [];
      app.parley.log.error = ((_details: unknown, message: string) => {
        logged.push(message);
      }) as unknown as typeof app.parley.log.error;
      app.parley.redis!.disconnect();
      const statuses: number[] = [];
      // The process's own count takes over: the limit of 2 still holds, per process.
      for (let i = 0; i < 4; i++)
        statuses.push((await request(app.url, 'GET', '/api/me', { token: alice.accessToken })).status);
      expect(statuses).to.deep.equal([200, 200, 429, 429]);
      expect(logged.filter((message) => message.startsWith('rate limit count'))).to.have.length(1);
      const metrics = await request(app.url, 'GET', '/health/metrics');
      expect(metrics.body).to.match(/parley_rate_limit_fallbacks_total\{[^}]*limiter="api"[^}]*\} 4/);
    } finally {
      await app.close();
    }
  });
});
