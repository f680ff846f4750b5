// The one interface every attachment store speaks (local disk, S3-compatible, Azure Blob; docs/attachments.md).
// Keys are opaque names the service makes up (never a client's file name), so no key can climb out of a store.
import type { Readable } from 'node:stream';

export type StoreKind = 'local' | 's3' | 'azure';

/** Inclusive byte offsets, as HTTP ranges are. */
export interface ByteRange {
  start: number;
  end: number;
}

/** The headers a signed URL makes the object store answer with. */
export interface SignedResponse {
  contentType: string;
  contentDisposition: string;
  cacheControl: string;
  ttlSec: number;
}

export interface ObjectStore {
  readonly kind: StoreKind;
  /**
   * Stores the file's bytes under `key`, visible only once complete (a failure leaves no object, or one the caller
   * deletes). The store may move the file instead of copying it (the local store renames it).
   */
  putFile(key: string, file: string, meta: { contentType: string; size: number }, signal: AbortSignal): Promise<void>;
  putBytes(key: string, bytes: Uint8Array, contentType: string, signal: AbortSignal): Promise<void>;
  /** The object's bytes, or the given range of them. */
  read(key: string, range: ByteRange | undefined, signal: AbortSignal): Promise<Readable>;
  /** Removes the object; an object that is not there is not an error. */
  delete(key: string, signal: AbortSignal): Promise<void>;
  /**
   * Remote stores only: a short-lived URL the client fetches the bytes from, so they do not flow through Node.
   * Signing is local computation (no request to the store).
   */
  signedUrl?(key: string, response: SignedResponse): Promise<string>;
  /** Resolves when the store answers (for /health). */
  ping(signal: AbortSignal): Promise<void>;
  close?(): void;
}
