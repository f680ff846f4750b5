// A Prometheus gauge read when /metrics is scraped instead of kept up to date: the shape of every figure Parley
// reports from a snapshot (pool sizes, queue depths, bytes stored, sockets connected).
import { Gauge, type Registry } from 'prom-client';

/** One series of a scraped gauge: its labels and its value (null: left out of this scrape). */
export type Reading<L extends string> = readonly [labels: Partial<Record<L, string>>, value: number | null];

/**
 * A gauge whose series `read` lists at each scrape. A series the last scrape had and `read` no longer lists is gone;
 * a `read` that fails (its database or Redis away) leaves the gauge empty for that scrape rather than failing it.
 */
export function scrapedGauge<L extends string>(
  registry: Registry,
  series: { name: string; help: string; labelNames?: readonly L[] },
  read: () => Iterable<Reading<L>> | Promise<Iterable<Reading<L>>>,
): Gauge<L> {
  return new Gauge<L>({
    name: series.name,
    help: series.help,
    labelNames: series.labelNames ?? [],
    registers: [registry],
    async collect() {
      this.reset();
      const readings = await Promise.resolve()
        .then(read)
        .catch((): Iterable<Reading<L>> => []);
      for (const [labels, value] of readings) if (value !== null) this.set(labels, value);
    },
  });
}
