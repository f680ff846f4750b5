// Every store call with a deadline (ATTACHMENT_STORE_TIMEOUT_MS) and a latency sample. A store that fails or
// hangs becomes StoreUnavailable, which the service answers as 503 `overloaded` with Retry-After.
import { performance } from 'node:perf_hooks';
import type { Readable } from 'node:stream';
import type { Histogram } from 'prom-client';
import type { ByteRange, ObjectStore, SignedResponse } from './object-store.js';

export class StoreUnavailable extends Error {
  constructor(
    readonly op: string,
    cause: unknown,
  ) {
    super(`attachment store ${op} failed: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
    this.name = 'StoreUnavailable';
  }
}

export class TimedStore {
  constructor(
    readonly inner: ObjectStore,
    private readonly timeoutMs: number,
    private readonly latency: Histogram<'store' | 'op' | 'outcome'>,
  ) {}

  get kind() {
    return this.inner.kind;
  }

  putFile(key: string, file: string, meta: { contentType: string; size: number }): Promise<void> {
    return this.timed('put', (signal) => this.inner.putFile(key, file, meta, signal));
  }

  putBytes(key: string, bytes: Uint8Array, contentType: string): Promise<void> {
    return this.timed('put', (signal) => this.inner.putBytes(key, bytes, contentType, signal));
  }

  /** The deadline covers opening the object; the bytes then flow at the client's pace. */
  read(key: string, range?: ByteRange): Promise<Readable> {
    return this.timed('read', (signal) => this.inner.read(key, range, signal));
  }

  delete(key: string): Promise<void> {
    return this.timed('delete', (signal) => this.inner.delete(key, signal));
  }

  get signs(): boolean {
    return this.inner.signedUrl !== undefined;
  }

  signedUrl(key: string, response: SignedResponse): Promise<string> {
    return this.timed('sign', () => this.inner.signedUrl!(key, response));
  }

  ping(): Promise<void> {
    return this.timed('ping', (signal) => this.inner.ping(signal));
  }

  close(): void {
    this.inner.close?.();
  }

  /** Runs the call under a deadline: its signal aborts, and the caller stops waiting, when the time is up. */
  private async timed<T>(op: string, call: (signal: AbortSignal) => Promise<T>): Promise<T> {
    const started = performance.now();
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(new Error(`timed out after ${this.timeoutMs} ms`)), this.timeoutMs);
    const observe = (outcome: string) =>
      this.latency.observe({ store: this.kind, op, outcome }, (performance.now() - started) / 1000);
    try {
      const deadline = new Promise<never>((_, reject) => {
        controller.signal.addEventListener('abort', () => reject(controller.signal.reason as Error), { once: true });
      });
      const result = await Promise.race([call(controller.signal), deadline]);
      observe('ok');
      return result;
    } catch (error) {
      observe('error');
      throw new StoreUnavailable(op, error);
    } finally {
      clearTimeout(timer);
    }
  }
}
