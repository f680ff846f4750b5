import { expect } from 'chai';
import { ConfigError, loadConfig } from '../../src/config.js';

const production = {
  NODE_ENV: 'production',
  DATABASE_URL: 'postgres://db/parley',
  JWT_SECRET: 'j'.repeat(32),
  SESSION_SECRET: 's'.repeat(32),
};

function problemsOf(env: Record<string, string>): string[] {
  try {
    loadConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  return [];
}

describe('config', () => {
  it('when nothing is set, then development defaults apply', () => {
    const config = loadConfig({});
    expect(config).to.include({ env: 'development', port: 3000, production: false });
    expect(config.database.url).to.equal(undefined);
    expect(config.http.bodyLimitBytes).to.equal(100 * 1024);
    expect(config.rateLimit).to.deep.equal({ authPerMin: 20, apiPerMin: 600 });
    expect(Object.isFrozen(config)).to.equal(true);
  });

  it('when variables are set, then they are parsed', () => {
    const config = loadConfig({
      PORT: '8080',
      DATABASE_REPLICA_URLS: 'postgres://r1/db, postgres://r2/db',
      BODY_LIMIT: '1mb',
      CORS_ORIGIN: 'https://a.example,https://b.example',
      TRUST_PROXY: '1',
    });
    expect(config.port).to.equal(8080);
    expect(config.database.replicaUrls).to.deep.equal(['postgres://r1/db', 'postgres://r2/db']);
    expect(config.http.bodyLimitBytes).to.equal(1024 * 1024);
    expect(config.http.corsOrigins).to.deep.equal(['https://a.example', 'https://b.example']);
    expect(config.http.trustProxy).to.equal(1);
  });

  it('when values are malformed, then the error names each bad variable', () => {
    const problems = problemsOf({ PORT: 'eighty', DB_POOL_MAX: '0', BODY_LIMIT: 'lots', DATABASE_URL: 'not a url' });
    for (const name of ['PORT', 'DB_POOL_MAX', 'BODY_LIMIT', 'DATABASE_URL']) {
      expect(
        problems.some((problem) => problem.startsWith(`${name}:`)),
        name,
      ).to.equal(true);
    }
  });

  it('when production lacks secrets or a database, then it refuses to start, naming them', () => {
    const problems = problemsOf({ NODE_ENV: 'production' });
    expect(problems.join('\n')).to.include('JWT_SECRET').and.include('SESSION_SECRET').and.include('DATABASE_URL');
  });

  it('when a forger relies on the public development secret with a real database under any NODE_ENV, then start is refused naming both secrets', () => {
    for (const env of ['development', 'test']) {
      const problems = problemsOf({ NODE_ENV: env, DATABASE_URL: 'postgres://db/parley' }).join('\n');
      expect(problems, env)
        .to.include('JWT_SECRET: required with DATABASE_URL')
        .and.include('SESSION_SECRET: required with DATABASE_URL');
    }
    // The embedded database (no DATABASE_URL) is a developer's machine: the public secret is allowed there.
    expect(loadConfig({ NODE_ENV: 'development' }).auth.jwtSecret).to.be.a('string').that.is.not.empty;
    expect(
      loadConfig({ NODE_ENV: 'test', DATABASE_URL: 'postgres://db/parley', JWT_SECRET: 'x', SESSION_SECRET: 'y' }).auth
        .jwtSecret,
    ).to.equal('x');
  });

  it('when a production secret is short, then it refuses to start', () => {
    expect(problemsOf({ ...production, JWT_SECRET: 'short' }).join()).to.include('JWT_SECRET: must be at least 32');
  });

  it('when production is fully configured, then secure cookies are on', () => {
    expect(loadConfig(production).auth.sessionCookieSecure).to.equal(true);
    expect(loadConfig(production).http.exposeErrors).to.equal(false);
  });

  it('when the instance id is not given, then it comes from the host and the PM2 instance number', () => {
    expect(loadConfig({ NODE_APP_INSTANCE: '3' }).instanceId).to.match(/:3$/);
    expect(loadConfig({ INSTANCE_ID: 'web-1' }).instanceId).to.equal('web-1');
  });

  it('when send batching is set, then it is parsed; more batches in flight than pool connections is refused', () => {
    expect(loadConfig({}).sendBatching).to.deep.equal({ maxBatch: 100, maxInFlight: 1, waitMs: 0, maxQueued: 5000 });
    expect(
      loadConfig({ SEND_BATCH_MAX: '1', SEND_BATCH_CONCURRENCY: '2', SEND_BATCH_WAIT_MS: '3' }).sendBatching,
    ).to.deep.equal({ maxBatch: 1, maxInFlight: 2, waitMs: 3, maxQueued: 5000 });
    expect(problemsOf({ SEND_BATCH_MAX: '0' }).join()).to.include('SEND_BATCH_MAX');
    expect(problemsOf({ DB_POOL_MAX: '2', SEND_BATCH_CONCURRENCY: '3' }).join()).to.include(
      'SEND_BATCH_CONCURRENCY: must not exceed DB_POOL_MAX',
    );
  });

  it('when INSTANCE_PORT_BASE is set, then PM2 instance i gets base + i; unset, no second port; past 65535, refused', () => {
    expect(loadConfig({ INSTANCE_PORT_BASE: '3100', NODE_APP_INSTANCE: '2' }).http.instancePort).to.equal(3102);
    expect(loadConfig({ NODE_APP_INSTANCE: '2' }).http.instancePort).to.equal(undefined);
    expect(problemsOf({ INSTANCE_PORT_BASE: '65535', NODE_APP_INSTANCE: '1' }).join()).to.include(
      'INSTANCE_PORT_BASE: 65535 + NODE_APP_INSTANCE (1) must be a port number',
    );
  });
});

describe('.env.example', () => {
  it('when a variable is read by config, then .env.example documents it', async () => {
    const { readFile } = await import('node:fs/promises');
    const { CONFIG_VARIABLES } = await import('../../src/config.js');
    const example = await readFile(new URL('../../.env.example', import.meta.url), 'utf8');
    // NODE_APP_INSTANCE is set by PM2, not by operators.
    const missing = CONFIG_VARIABLES.filter(
      (name) => name !== 'NODE_APP_INSTANCE' && !new RegExp(`^#? ?${name}=`, 'm').test(example),
    );
    expect(missing).to.deep.equal([]);
  });
});
