import { getHeapStatistics } from 'node:v8';
import { expect } from 'chai';
import { ConfigError, loadConfig, loadDeploymentSettings } from '../../src/config.js';

describe('config: lifecycle and memory settings', () => {
  it('when marks are not given, then they come from the plan for one process; a warning above the restart is refused', () => {
    const config = loadConfig({ NODE_ENV: 'test', MEMORY_LIMIT_MB: '2048' });
    expect(config.memory.warnMb).to.be.below(config.memory.restartMb);
    expect(config.memory.restartMb).to.be.below(2048);
    expect(() => loadConfig({ NODE_ENV: 'test', MEMORY_THRESHOLD_MB: '500', MEMORY_RESTART_MB: '400' })).to.throw(
      ConfigError,
      /MEMORY_THRESHOLD_MB/,
    );
  });

  it('when marks are not given and the V8 heap limit is below the plan, then the defaults fit under the heap limit', () => {
    const heapLimitMb = getHeapStatistics().heap_size_limit / 1024 / 1024;
    // Far more memory than this test process's heap: the plan alone would put the marks above its heap limit.
    const config = loadConfig({ NODE_ENV: 'test', MEMORY_LIMIT_MB: String(Math.ceil(heapLimitMb * 8)) });
    expect(config.memory.restartMb).to.be.below(heapLimitMb);
    expect(config.memory.warnMb).to.be.below(config.memory.restartMb);
  });

  it('when deployment variables are given, then they are validated once for the ecosystem file and the plan', () => {
    const settings = loadDeploymentSettings({ MAX_WORKERS: '3', DB_MAX_CONNECTIONS: '300', DEPLOY_HOSTS: '2' });
    expect(settings).to.include({ maxWorkers: 3, dbMaxConnections: 300, hosts: 2, dbReservedConnections: 5 });
    expect(() => loadDeploymentSettings({ DEPLOY_HOSTS: '0' })).to.throw(ConfigError, /DEPLOY_HOSTS/);
  });
});
