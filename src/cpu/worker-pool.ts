// The one Piscina pool of this process and the typed door to it. Callers name a task (a compiled file and an
// exported function) and get its result; a full queue becomes 503 `overloaded`, and every run is timed and
// counted so /health and /health/metrics can show what the pool is doing.
import { performance } from 'node:perf_hooks';
import { Piscina } from 'piscina';
import { settledWithin } from '../core/deadline.js';
import { overloaded, type AppError } from '../core/errors.js';

/** A function exported by a worker file. `Input`/`Output` only type the call; the file is loaded by path. */
export interface TaskRef<Input, Output> {
  /** Absolute path of the compiled module (workers load JavaScript, never the TypeScript source). */
  readonly file: string;
  /** The exported function's name; also the label in metrics. */
  readonly name: string;
  /** Phantom fields tying the reference to its types. */
  readonly __input?: Input;
  readonly __output?: Output;
}

export interface WorkerPoolSettings {
  maxThreads: number;
  maxQueue: number;
  idleTimeoutMs: number;
  maxOldGenerationSizeMb: number;
  closeTimeoutMs: number;
  /** How many nice steps below the process the worker threads run (0 = same priority). */
  niceIncrement: number;
  /**
   * Tasks one thread runs at once. 1 (the default) for CPU-bound tasks, which block their thread; more for tasks
   * that mostly wait on messages, such as an upload being received (the upload threads, app.ts).
   */
  tasksPerThread?: number;
}

export interface WorkerPoolStats {
  threads: number;
  maxThreads: number;
  /** Tasks on a thread now. */
  running: number;
  queued: number;
  maxQueue: number;
  completed: number;
  failed: number;
  rejected: number;
  /** Share of the pool's thread time spent running tasks since start, 0-1. */
  utilization: number;
  /** Mean time a task took on its thread since start (all tasks alike), in ms; 0 before the first. */
  meanRunMs: number;
}

/** Where run outcomes go; worker-pool-metrics.ts wires these to prom-client, tests can pass their own. */
export interface TaskObserver {
  succeeded(task: string, seconds: number): void;
  failed(task: string, seconds: number): void;
  rejected(task: string): void;
}

// Piscina rejects with plain Errors carrying no code, so the message is the only thing to match.
const QUEUE_FULL_MESSAGES = new Set(['Task queue is at limit', 'No task queue available and all Workers are busy']);

export const isQueueFull = (error: unknown): boolean =>
  error instanceof Error && QUEUE_FULL_MESSAGES.has(error.message);

// Retry-After is the time the full queue needs to drain, so clients come back when there is room instead of
// hammering the server with requests that only get another 503. Capped: past that, the estimate is a guess.
const MAX_RETRY_AFTER_SEC = 30;
const MEAN_RUN_TIME_REFRESH_MS = 1000;

/** Seconds until a full pool has room again: queued and running tasks, spread over the threads. At least 1. */
export function retryAfterSec(pool: { queued: number; maxThreads: number; meanRunMs: number }): number {
  const drainMs = ((pool.queued + pool.maxThreads) * pool.meanRunMs) / pool.maxThreads;
  return Math.min(MAX_RETRY_AFTER_SEC, Math.max(1, Math.ceil(drainMs / 1000)));
}

export class WorkerPool {
  private readonly piscina: Piscina;
  private failed = 0;
  private rejected = 0;
  /** Tasks handed to Piscina and not yet settled: running or queued. */
  private inPool = 0;
  private readonly startedAt = performance.now();
  private meanRunMs = { value: 0, readAt: -Infinity, completed: 0 };

  constructor(
    private readonly settings: WorkerPoolSettings,
    private readonly observer?: TaskObserver,
  ) {
    this.piscina = new Piscina({
      // One thread up front so the first login does not pay the worker start-up; more spawn under load.
      minThreads: Math.min(1, settings.maxThreads),
      maxThreads: settings.maxThreads,
      maxQueue: settings.maxQueue,
      idleTimeout: settings.idleTimeoutMs,
      // A runaway task kills its own worker (ERR_WORKER_OUT_OF_MEMORY), not the process; Piscina replaces it.
      resourceLimits: { maxOldGenerationSizeMb: settings.maxOldGenerationSizeMb },
      // CPU-bound threads yield the cores to the event loop (health checks, sockets) whenever it has work, and
      // still get all the idle CPU. Linux nice values are per thread, so the main thread keeps its priority.
      // Applied through Piscina's optional @napi-rs/nice; without it, threads run at normal priority.
      niceIncrement: settings.niceIncrement,
      concurrentTasksPerWorker: settings.tasksPerThread ?? 1,
      recordTiming: true,
    });
  }

  /** `transfer` moves objects of the input (a MessagePort, ArrayBuffers) to the worker instead of copying them. */
  async run<Input, Output>(task: TaskRef<Input, Output>, input: Input, transfer?: Transferable[]): Promise<Output> {
    const started = performance.now();
    this.inPool++;
    try {
      const output = (await this.piscina.run(input, {
        filename: task.file,
        name: task.name,
        ...(transfer ? { transferList: transfer as never } : {}),
      })) as Output;
      this.observer?.succeeded(task.name, (performance.now() - started) / 1000);
      return output;
    } catch (error) {
      if (isQueueFull(error)) {
        this.rejected++;
        this.observer?.rejected(task.name);
        throw this.overloadedError();
      }
      this.failed++;
      this.observer?.failed(task.name, (performance.now() - started) / 1000);
      throw error;
    } finally {
      this.inPool--;
    }
  }

  /**
   * The 503 a new task would get right now, or undefined when it would be accepted. Lets a route that is bound for
   * the pool turn a request away at the door, before spending parsing, Redis and database work on it.
   */
  admissionError(): AppError | undefined {
    const { maxQueue, maxThreads } = this.settings;
    const full =
      maxQueue > 0
        ? this.piscina.queueSize >= maxQueue
        : this.piscina.idleThreads === 0 && this.piscina.threads.length >= maxThreads;
    return full ? this.overloadedError() : undefined;
  }

  private overloadedError(): AppError {
    return overloaded(retryAfterSec(this.stats()), 'The server is busy with other work, try again shortly');
  }

  /**
   * Mean time a task took on its thread, re-read at most once a second. Piscina builds a whole histogram summary
   * (percentiles, stddev) to answer it, and every 503 asks for it: in a login storm that was 15% of the event
   * loop's work.
   */
  private meanRunTimeMs(): number {
    const now = performance.now();
    const { completed } = this.piscina;
    const firstRuns = this.meanRunMs.completed === 0 && completed > 0;
    if (firstRuns || now - this.meanRunMs.readAt >= MEAN_RUN_TIME_REFRESH_MS) {
      const mean = completed === 0 ? 0 : this.piscina.histogram.runTime.mean;
      // An empty histogram's mean is NaN (tasks that ended before they started, e.g. when the pool closed).
      this.meanRunMs = { value: Number.isFinite(mean) ? mean : 0, readAt: now, completed };
    }
    return this.meanRunMs.value;
  }

  /** A snapshot cheap enough to take for every rejected task and to poll every second (health, metrics, pm2 monit). */
  stats(): WorkerPoolStats {
    const { completed, queueSize } = this.piscina;
    const meanRunMs = this.meanRunTimeMs();
    // Computed here: Piscina 5.3.2's own `utilization` divides the mean run time by 1000 twice (1000x too small).
    const capacityMs =
      (performance.now() - this.startedAt) * this.settings.maxThreads * (this.settings.tasksPerThread ?? 1);
    return {
      threads: this.piscina.threads.length,
      maxThreads: this.settings.maxThreads,
      // Piscina counts its queue but not its running tasks; a rejected task was in neither.
      running: Math.max(0, this.inPool - queueSize),
      queued: queueSize,
      maxQueue: this.settings.maxQueue,
      completed,
      failed: this.failed,
      rejected: this.rejected,
      utilization: Math.round(Math.min(1, (meanRunMs * completed) / capacityMs) * 1000) / 1000,
      meanRunMs: Math.round(meanRunMs * 10) / 10,
    };
  }

  /**
   * Lets queued and running tasks finish, up to the close timeout (kept inside the shutdown drain deadline), then
   * terminates whatever is still running.
   */
  async close(): Promise<void> {
    if (!(await settledWithin(this.piscina.close(), this.settings.closeTimeoutMs))) await this.piscina.destroy();
  }
}
