// Event-loop delay as the process experiences it, sampled by Node's histogram. The window resets on each read
// after RESET_AFTER_MS, so the figure describes the recent past rather than the whole uptime.
import { monitorEventLoopDelay } from 'node:perf_hooks';

const RESET_AFTER_MS = 10_000;

export class EventLoopMonitor {
  private readonly histogram = monitorEventLoopDelay({ resolution: 10 });
  private windowStart = Date.now();
  private last = 0;

  start(): this {
    this.histogram.enable();
    return this;
  }

  /** p99 delay in milliseconds over the current window. */
  lagMs(): number {
    const p99 = this.histogram.percentile(99) / 1e6;
    if (Number.isFinite(p99) && this.histogram.count > 0) this.last = p99;
    if (Date.now() - this.windowStart > RESET_AFTER_MS) {
      this.histogram.reset();
      this.windowStart = Date.now();
    }
    return Math.round(this.last * 100) / 100;
  }

  stop(): void {
    this.histogram.disable();
  }
}
