// The app's own memory guard, first in line: PM2 checks max_memory_restart only every 30 s (a fast leak
// overshoots it) and a V8 heap limit hit aborts the process. The guard checks RSS every few seconds, warns above
// MEMORY_THRESHOLD_MB, and above MEMORY_RESTART_MB asks for a graceful shutdown so PM2 starts a fresh worker.
import { detectHeapLimitMb } from '../capacity/machine.js';
import { effectiveMarks } from '../capacity/plan.js';
import type { Logger } from '../core/logger.js';

export type MemoryGuardState = 'ok' | 'warning' | 'restarting';

export interface MemoryGuardOptions {
  warnMb: number;
  restartMb: number;
  checkIntervalMs: number;
  /** Log RSS and heap every logIntervalMs when monitoring is on (ENABLE_MEMORY_MONITORING). */
  monitoring: boolean;
  logIntervalMs: number;
}

export interface MemoryReading {
  rssMb: number;
  heapUsedMb: number;
  heapLimitMb: number;
}

const MB = 1024 * 1024;

export function readMemory(): MemoryReading {
  const usage = process.memoryUsage();
  return {
    rssMb: Math.round(usage.rss / MB),
    heapUsedMb: Math.round(usage.heapUsed / MB),
    heapLimitMb: detectHeapLimitMb(),
  };
}

export class MemoryGuard {
  private current: MemoryGuardState = 'ok';
  private last: MemoryReading | undefined;
  private checkTimer: NodeJS.Timeout | undefined;
  private logTimer: NodeJS.Timeout | undefined;
  private readonly marks: { warnMb: number; restartMb: number };

  constructor(
    private readonly options: MemoryGuardOptions,
    private readonly log: Logger,
    private readonly requestRestart: (reason: string) => void,
    private readonly read: () => MemoryReading = readMemory,
  ) {
    const first = read();
    const marks = effectiveMarks(options.warnMb, options.restartMb, first.heapLimitMb);
    if (marks.lowered)
      log.warn(
        {
          configured: { warnMb: options.warnMb, restartMb: options.restartMb },
          heapLimitMb: first.heapLimitMb,
          ...marks,
        },
        'memory marks lowered below the V8 heap limit',
      );
    this.marks = { warnMb: marks.warnMb, restartMb: marks.restartMb };
  }

  start(): this {
    this.checkTimer = setInterval(() => this.check(), this.options.checkIntervalMs).unref();
    if (this.options.monitoring)
      this.logTimer = setInterval(
        () => this.log.info({ memory: this.read(), state: this.current }, 'memory'),
        this.options.logIntervalMs,
      ).unref();
    return this;
  }

  stop(): void {
    clearInterval(this.checkTimer);
    clearInterval(this.logTimer);
  }

  /** The marks in force, for the start-up log line. */
  marksMb(): { warnMb: number; restartMb: number } {
    return { ...this.marks };
  }

  report() {
    return { state: this.current, ...this.marks, ...(this.last ?? this.read()) };
  }

  check(): MemoryGuardState {
    if (this.current === 'restarting') return this.current;
    const reading = this.read();
    this.last = reading;
    if (reading.rssMb >= this.marks.restartMb) {
      this.current = 'restarting';
      this.log.error(
        { memory: reading, restartMb: this.marks.restartMb },
        'memory guard: RSS above the restart mark; draining for a graceful restart',
      );
      this.stop();
      this.requestRestart('memory guard');
    } else if (reading.rssMb >= this.marks.warnMb) {
      if (this.current !== 'warning')
        this.log.warn({ memory: reading, warnMb: this.marks.warnMb }, 'memory guard: RSS above the warning mark');
      this.current = 'warning';
    } else {
      this.current = 'ok';
    }
    return this.current;
  }
}
