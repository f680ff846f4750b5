// Attachments on this host's disk (ATTACHMENTS_DIR): fine for one host, and the store the others fall back to in
// tests. Objects live under objects/<first two characters of the key>/<key>; incoming/ holds uploads being
// received, on the same file system, so a finished upload becomes an object by one atomic rename.
import { randomUUID } from 'node:crypto';
import { mkdir, open, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import type { ByteRange, ObjectStore } from './object-store.js';

const SAFE_KEY = /^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$/;

export class LocalStore implements ObjectStore {
  readonly kind = 'local' as const;
  readonly incomingDir: string;
  private readonly objectsDir: string;

  constructor(dir: string) {
    this.objectsDir = path.resolve(dir, 'objects');
    this.incomingDir = path.resolve(dir, 'incoming');
  }

  async start(): Promise<void> {
    await mkdir(this.objectsDir, { recursive: true });
    await mkdir(this.incomingDir, { recursive: true });
  }

  /** Where a key's object lives; keys are made by the service, and anything else is refused rather than resolved. */
  pathOf(key: string): string {
    if (!SAFE_KEY.test(key)) throw new Error(`invalid storage key ${JSON.stringify(key)}`);
    return path.join(this.objectsDir, key.slice(0, 2), key);
  }

  async putFile(key: string, file: string): Promise<void> {
    const target = this.pathOf(key);
    await mkdir(path.dirname(target), { recursive: true });
    await rename(file, target);
  }

  async putBytes(key: string, bytes: Uint8Array): Promise<void> {
    const target = this.pathOf(key);
    await mkdir(path.dirname(target), { recursive: true });
    const partial = path.join(this.incomingDir, `${randomUUID()}.partial`);
    try {
      await writeFile(partial, bytes);
      await rename(partial, target);
    } finally {
      await rm(partial, { force: true });
    }
  }

  async read(key: string, range: ByteRange | undefined): Promise<Readable> {
    // Opened before returning, so a missing object fails here rather than in the middle of a response.
    const handle = await open(this.pathOf(key), 'r');
    return handle.createReadStream(range ? { start: range.start, end: range.end } : {});
  }

  async delete(key: string): Promise<void> {
    await rm(this.pathOf(key), { force: true });
  }

  /** A write where objects go: a full, read-only or missing disk fails it. */
  async ping(): Promise<void> {
    const probe = path.join(this.objectsDir, `.ping-${randomUUID()}`);
    await writeFile(probe, '');
    await rm(probe, { force: true });
  }
}
