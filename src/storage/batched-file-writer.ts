// A Writable to a new file that gathers incoming chunks and writes them `batchBytes` at a time, one write each.
// fs.createWriteStream writes every chunk as it comes (one thread-pool job per 64 KB socket read); on a machine
// whose cores are busy with the sockets, waking a pool thread that often cost the main thread more than parsing
// and hashing the upload (docs/attachments.md, Benchmark). At most one batch is filling and one is being written, so
// memory per upload is 2 x batchBytes, and backpressure reaches the source while a batch is written.
import { open, type FileHandle } from 'node:fs/promises';
import { Writable } from 'node:stream';

export interface BatchedFileWriterOptions {
  batchBytes: number;
  /** Sees every chunk, in order, before it is held for writing (hashing, counting, sniffing). */
  onChunk?(chunk: Buffer): void;
}

export class BatchedFileWriter extends Writable {
  private handle?: FileHandle;
  // Two buffers, allocated once: one fills while the other is being written. Copying into them (a few
  // microseconds per 64 KB) lets the socket's chunks die young instead of being held, which kept the collector busy.
  private filling: Buffer;
  private spare: Buffer;
  private filled = 0;
  private inFlight: Promise<void> = Promise.resolve();

  constructor(
    /** Created here, and refused if it exists (`wx`): a writer never appends to or replaces another's file. */
    readonly file: string,
    private readonly options: BatchedFileWriterOptions,
  ) {
    super({ highWaterMark: options.batchBytes });
    this.filling = Buffer.allocUnsafeSlow(options.batchBytes);
    this.spare = Buffer.allocUnsafeSlow(options.batchBytes);
  }

  override _construct(callback: (error?: Error | null) => void): void {
    open(this.file, 'wx').then((handle) => {
      this.handle = handle;
      callback();
    }, callback);
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.options.onChunk?.(chunk);
    this.take(chunk).then(() => callback(), callback);
  }

  override _final(callback: (error?: Error | null) => void): void {
    this.inFlight
      .then(() => this.writeAll(this.filling.subarray(0, this.filled)))
      .then(() => this.closeHandle())
      .then(() => callback(), callback);
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.inFlight
      .catch(() => undefined)
      .then(() => this.closeHandle())
      .then(
        () => callback(error),
        () => callback(error),
      );
  }

  /** Copies the chunk in; each full buffer starts its write once the previous write is done. */
  private async take(chunk: Buffer): Promise<void> {
    let offset = 0;
    while (offset < chunk.length) {
      const copied = chunk.copy(this.filling, this.filled, offset);
      this.filled += copied;
      offset += copied;
      if (this.filled < this.filling.length) continue;
      await this.inFlight;
      this.inFlight = this.writeAll(this.filling);
      [this.filling, this.spare] = [this.spare, this.filling];
      this.filled = 0;
    }
  }

  private async writeAll(bytes: Buffer): Promise<void> {
    // A write may take less than asked (a signal, a nearly full disk): the rest goes in the next call.
    let rest = bytes;
    while (rest.length > 0) {
      const { bytesWritten } = await this.handle!.write(rest);
      rest = rest.subarray(bytesWritten);
    }
  }

  private async closeHandle(): Promise<void> {
    const handle = this.handle;
    this.handle = undefined;
    await handle?.close();
  }
}
