// One log line when something starts failing and one when it works again, instead of one per attempt: a Redis or
// database outage would otherwise write a line per request or per heartbeat.
import type { Logger } from './logger.js';

export class OutageLog {
  private failing = false;

  constructor(
    private readonly log: Logger,
    private readonly what: string,
    private readonly details: Record<string, unknown> = {},
  ) {}

  failed(error: unknown): void {
    if (!this.failing) this.log.error({ err: error, ...this.details }, `${this.what} unavailable`);
    this.failing = true;
  }

  recovered(): void {
    if (this.failing) this.log.info(this.details, `${this.what} restored`);
    this.failing = false;
  }
}
