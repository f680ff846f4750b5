// Attachments: what an upload may be, where its bytes go, who may read them, thumbnails. Knows no HTTP: the route
// hands over a received temporary file (http/multipart-upload.ts) and turns the answers into headers.
//
// An upload becomes an attachment in this order: sniff and check the bytes, put them in the store, then insert the
// row (under the uploader's quota lock). Any failure after the put deletes the object, so the database never
// names an object that is not whole, and a store that fails is a 503 with nothing written.
import { randomUUID } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { Readable } from 'node:stream';
import { AppError, notFound, overloaded, validationFailed } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import type { Database } from '../db/database.js';
import type { Attachment } from '../contract/attachments.js';
import * as attachments from '../db/attachments.repository.js';
import type { StoredAttachment } from '../db/attachments.repository.js';
import { TASKS } from '../cpu/tasks.js';
import type { WorkerPool } from '../cpu/worker-pool.js';
import type { AttachmentMetrics } from './attachment-metrics.js';
import type { ByteRange } from '../storage/object-store.js';
import { LocalStore } from '../storage/local-store.js';
import { StoreUnavailable, type TimedStore } from '../storage/timed-store.js';
import { RASTER_IMAGE_TYPES, sniffContentType } from './attachment-types.js';

/** Seconds a client should wait after the store failed: long enough for a blip, short enough to feel like a retry. */
export const STORE_RETRY_AFTER_SEC = 5;

export interface AttachmentSettings {
  types: readonly string[];
  quotaBytes: number;
  thumbnailPx: number;
  maxInputPixels: number;
  signedUrlTtlSec: number;
}

export interface ReceivedUpload {
  file: string;
  name: string;
  size: number;
  sha256: string;
  head: Buffer;
}

/** The contract's view of an upload. */
export const publicAttachment = (attachment: StoredAttachment): Attachment => ({
  id: attachment.id,
  name: attachment.name,
  size: attachment.size,
  contentType: attachment.contentType,
  sha256: attachment.sha256,
  createdAt: attachment.createdAt,
});

export const storeUnavailable = () =>
  overloaded(STORE_RETRY_AFTER_SEC, 'Attachment storage is unavailable; retry shortly');

const quotaExceeded = (quotaBytes: number, usedBytes: number) =>
  new AppError('payload_too_large', 'This upload would exceed your attachment quota', { quotaBytes, usedBytes });

const noop = () => undefined;

export class AttachmentsService {
  /** Whether the store answered the last health check (undefined before the first). */
  answering?: boolean;

  constructor(
    private readonly db: Database,
    readonly store: TimedStore,
    /** Where uploads and thumbnail sources wait on this host's disk (the local store's incoming/ directory). */
    readonly incomingDir: string,
    private readonly settings: AttachmentSettings,
    private readonly workerPool: WorkerPool,
    readonly metrics: AttachmentMetrics,
    private readonly log: Logger,
  ) {}

  /** Turns a received upload into an attachment of the user's. The temporary file is the caller's to remove. */
  async create(userId: string, upload: ReceivedUpload): Promise<StoredAttachment> {
    if (upload.size === 0) throw validationFailed('The file is empty');
    const contentType = await sniffContentType(upload.head, upload.size <= upload.head.length);
    if (!contentType || !this.settings.types.includes(contentType)) {
      throw validationFailed('Files of this type are not accepted', {
        contentType: contentType ?? 'unknown',
        allowed: this.settings.types,
      });
    }
    // Cheap early answer; the insert below decides under the quota lock.
    const used = await attachments.usedBytes(this.db.primary, userId);
    if (used + upload.size > this.settings.quotaBytes) throw quotaExceeded(this.settings.quotaBytes, used);
    const storageKey = randomUUID();
    try {
      await this.store.putFile(storageKey, upload.file, { contentType, size: upload.size });
    } catch (error) {
      await this.store.delete(storageKey).catch(noop);
      throw this.unavailable(error);
    }
    try {
      const created = await this.db.withTransaction((tx) =>
        attachments.insertWithinQuota(
          tx,
          {
            uploaderId: userId,
            name: upload.name,
            size: upload.size,
            contentType,
            sha256: upload.sha256,
            store: this.store.kind,
            storageKey,
          },
          this.settings.quotaBytes,
        ),
      );
      if (!created) throw quotaExceeded(this.settings.quotaBytes, await attachments.usedBytes(this.db.primary, userId));
      return created;
    } catch (error) {
      await this.store
        .delete(storageKey)
        .catch((cause: unknown) =>
          this.log.warn({ err: cause, storageKey }, 'could not remove the object of a failed upload'),
        );
      throw error;
    }
  }

  /** Refuses (413) a user whose live uploads already fill the quota. */
  async assertQuotaLeft(userId: string): Promise<void> {
    const used = await attachments.usedBytes(this.db.primary, userId);
    if (used >= this.settings.quotaBytes) throw quotaExceeded(this.settings.quotaBytes, used);
  }

  /** The attachment if the user may read it (uploader, or member of the conversation holding it); else 404. */
  async readable(userId: string, attachmentId: string): Promise<StoredAttachment> {
    // The primary: a removal from the conversation must take effect at once, whatever a replica has replayed.
    const attachment = await attachments.findReadable(this.db.primary, attachmentId, userId);
    if (!attachment) throw notFound('Attachment');
    if (attachment.store !== this.store.kind) {
      // Objects do not move between stores by themselves (docs/attachments.md: changing stores).
      this.log.error({ attachmentId, store: attachment.store }, 'attachment is in a store that is not configured');
      throw storeUnavailable();
    }
    return attachment;
  }

  /** The object's bytes (local store), or the given range of them. */
  async open(key: string, range?: ByteRange): Promise<Readable> {
    try {
      return await this.store.read(key, range);
    } catch (error) {
      throw this.unavailable(error);
    }
  }

  /** Remote stores: a signed URL that serves the object with these headers. */
  async signedUrl(
    key: string,
    response: { contentType: string; contentDisposition: string; cacheControl: string },
  ): Promise<string> {
    try {
      return await this.store.signedUrl(key, { ...response, ttlSec: this.settings.signedUrlTtlSec });
    } catch (error) {
      throw this.unavailable(error);
    }
  }

  /**
   * The thumbnail's storage key, made on the worker pool the first time and kept in the store. Only raster images
   * have one; a source over ATTACHMENT_MAX_INPUT_PIXELS or one that does not decode is a 400.
   */
  async thumbnailKey(attachment: StoredAttachment): Promise<string> {
    if (!RASTER_IMAGE_TYPES.has(attachment.contentType))
      throw validationFailed('Only images have thumbnails', { contentType: attachment.contentType });
    if (attachment.thumbnailKey) return attachment.thumbnailKey;
    const admission = this.workerPool.admissionError();
    if (admission) throw admission;
    const { file, cleanup } = await this.sourceFile(attachment);
    let output;
    try {
      output = await this.workerPool.run(TASKS.makeThumbnail, {
        file,
        maxSidePx: this.settings.thumbnailPx,
        maxInputPixels: this.settings.maxInputPixels,
      });
    } finally {
      await cleanup();
    }
    if (!output.ok) {
      throw output.reason === 'too_many_pixels'
        ? validationFailed(
            `The image has more than the ${this.settings.maxInputPixels} pixels a thumbnail is made from`,
            { maxInputPixels: this.settings.maxInputPixels },
          )
        : validationFailed('The image could not be decoded');
    }
    // Deterministic: two requests racing to make it write the same object.
    const key = `${attachment.storageKey}.thumb-${this.settings.thumbnailPx}.webp`;
    try {
      await this.store.putBytes(key, output.bytes, output.contentType);
    } catch (error) {
      throw this.unavailable(error);
    }
    await attachments.setThumbnailKey(this.db.primary, attachment.id, key);
    return key;
  }

  /** For /health: does the store answer? Remembered for the health section. */
  async ping(): Promise<boolean> {
    try {
      await this.store.ping();
      this.answering = true;
    } catch (error) {
      if (this.answering !== false) this.log.warn({ err: error }, 'attachment store does not answer');
      this.answering = false;
    }
    return this.answering;
  }

  /** A local path the worker can read the original from: the object itself on disk, else a temporary copy. */
  private async sourceFile(attachment: StoredAttachment): Promise<{ file: string; cleanup: () => Promise<void> }> {
    const inner = this.store.inner;
    if (inner instanceof LocalStore)
      return { file: inner.pathOf(attachment.storageKey), cleanup: async () => undefined };
    const file = path.join(this.incomingDir, `${randomUUID()}.thumbnail-source`);
    const cleanup = () => rm(file, { force: true }).then(noop, noop);
    try {
      await pipeline(await this.open(attachment.storageKey), createWriteStream(file, { flags: 'wx' }));
      return { file, cleanup };
    } catch (error) {
      await cleanup();
      throw error instanceof AppError ? error : this.unavailable(error);
    }
  }

  private unavailable(error: unknown): AppError {
    if (error instanceof AppError) return error;
    this.log.warn(
      {
        err: error instanceof StoreUnavailable ? error.cause : error,
        op: error instanceof StoreUnavailable ? error.op : undefined,
      },
      'attachment store call failed',
    );
    return storeUnavailable();
  }
}
