import { expect } from 'chai';
import { Registry } from 'prom-client';
import { scrapedGauge, type Reading } from '../../src/ops/scraped-gauge.js';

describe('scraped gauge', () => {
  it('when scraped, then it shows what read lists now: a series no longer listed is gone, a null value left out', async () => {
    const registry = new Registry();
    let readings: Array<Reading<'pool'>> = [
      [{ pool: 'primary' }, 3],
      [{ pool: 'replica' }, 1],
    ];
    scrapedGauge(registry, { name: 'test_pool_size', help: 'h', labelNames: ['pool'] }, () => readings);
    expect(await registry.metrics())
      .to.include('test_pool_size{pool="primary"} 3')
      .and.include('pool="replica"');
    readings = [
      [{ pool: 'primary' }, 4],
      [{ pool: 'replica' }, null],
    ];
    const text = await registry.metrics();
    expect(text).to.include('test_pool_size{pool="primary"} 4');
    expect(text).not.to.include('pool="replica"');
  });

  it('when read fails, then that scrape has no series of the gauge and the rest of the scrape is served', async () => {
    const registry = new Registry();
    let fail = false;
    scrapedGauge(registry, { name: 'test_rows', help: 'h', labelNames: ['table'] }, async () => {
      if (fail) throw new Error('database away');
      return [[{ table: 'outbox' }, 7]];
    });
    scrapedGauge(registry, { name: 'test_sockets', help: 'h' }, () => [[{}, 2]]);
    expect(await registry.metrics()).to.include('test_rows{table="outbox"} 7');
    fail = true;
    const text = await registry.metrics();
    expect(text).not.to.include('test_rows{');
    expect(text).to.include('test_sockets 2');
  });
});
