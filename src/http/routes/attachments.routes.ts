// POST /api/attachments (streamed multipart upload), GET /api/attachments/:id (the bytes, or a redirect to a
// signed URL of the object store) and GET /api/attachments/:id/thumbnail. Who may read what is the service's;
// this file turns it into cache-friendly, sniff-proof HTTP (docs/attachments.md, Headers).
import { rm } from 'node:fs/promises';
import { create as contentDisposition } from 'content-disposition';
import { combineRanges, parse as parseRange } from 'range-parser';
import type { Context } from 'koa';
import { AppError } from '../../core/errors.js';
import type { Attachment } from '../../contract/attachments.js';
import type { AttachmentMetrics } from '../../services/attachment-metrics.js';
import { servedInline } from '../../services/attachment-types.js';
import type { WorkerPool } from '../../cpu/worker-pool.js';
import { publicAttachment, type AttachmentsService } from '../../services/attachments.service.js';
import { currentUserId } from '../middleware/authenticate.js';
import { receiveUpload } from '../multipart-upload.js';
import { newRouter, type ParleyRouter } from '../router.js';
import { requireId } from './conversations.routes.js';

/** An attachment never changes under its id: caches may keep it as long as they like, for this user only. */
const IMMUTABLE = 'private, max-age=31536000, immutable';
/** The redirect itself must not outlive its signed URL. */
const REDIRECT_CACHE = 'private, no-store';
/** Even a file a browser would render (HTML, SVG, PDF) runs in a sandbox with no scripts, no origin, nothing loaded. */
const DOWNLOAD_CSP = "default-src 'none'; style-src 'unsafe-inline'; sandbox";

interface Served {
  key: string;
  etag: string;
  contentType: string;
  /** Known for originals (Range works); thumbnails are sent whole. */
  size?: number;
  disposition: string;
}

export function attachmentRoutes(deps: {
  attachments: AttachmentsService;
  uploadThreads: WorkerPool;
  config: { attachments: { maxBytes: number; nameMaxChars: number } };
}): ParleyRouter {
  const service = deps.attachments;
  const { metrics } = service;
  const router = newRouter('/attachments');
  router.param('id', requireId('Attachment'));

  router.post('/', async (ctx) => {
    await counted(ctx, metrics.uploads, service.store.kind, async () => {
      const userId = currentUserId(ctx.state);
      // A user already at the quota is told before a byte of the file is read.
      await service.assertQuotaLeft(userId);
      let received;
      try {
        received = await receiveUpload(ctx.req, deps.uploadThreads, {
          incomingDir: service.incomingDir,
          maxBytes: deps.config.attachments.maxBytes,
          nameMaxChars: deps.config.attachments.nameMaxChars,
        });
      } catch (error) {
        // The rest of the body may still be arriving: this connection is not reused.
        ctx.set('Connection', 'close');
        throw error;
      }
      try {
        const attachment = await service.create(userId, received);
        ctx.status = 201;
        ctx.body = { attachment: publicAttachment(attachment) };
      } finally {
        await rm(received.file, { force: true });
      }
    });
  });

  router.get('/:id', async (ctx) => {
    await counted(ctx, metrics.downloads, service.store.kind, async () => {
      const attachment = await service.readable(currentUserId(ctx.state), ctx.params.id!);
      await serve(ctx, service, {
        key: attachment.storageKey,
        etag: `"${attachment.sha256}"`,
        contentType: attachment.contentType,
        size: attachment.size,
        disposition: dispositionOf(attachment),
      });
    });
  });

  router.get('/:id/thumbnail', async (ctx) => {
    await counted(ctx, metrics.downloads, service.store.kind, async () => {
      const attachment = await service.readable(currentUserId(ctx.state), ctx.params.id!);
      const etag = `"${attachment.sha256}-thumbnail"`;
      if (answeredNotModified(ctx, etag)) return;
      const key = await service.thumbnailKey(attachment);
      await serve(ctx, service, {
        key,
        etag,
        contentType: 'image/webp',
        disposition: contentDisposition(`${attachment.name}.thumbnail.webp`, { type: 'inline' }),
      });
    });
  });

  return router;
}

/** Counts the request by store and final status, errors included. */
async function counted(
  ctx: Context,
  counter: AttachmentMetrics['uploads'],
  store: string,
  work: () => Promise<void>,
): Promise<void> {
  try {
    await work();
    counter.inc({ store, status: String(ctx.status) });
  } catch (error) {
    counter.inc({ store, status: String(error instanceof AppError ? error.status : 500) });
    throw error;
  }
}

/** Raster images may show inline; everything else (SVG, HTML and PDF included) is a download. */
function dispositionOf(attachment: Pick<Attachment, 'name' | 'contentType'>): string {
  return contentDisposition(attachment.name, { type: servedInline(attachment.contentType) ? 'inline' : 'attachment' });
}

async function serve(ctx: Context, service: AttachmentsService, served: Served): Promise<void> {
  if (answeredNotModified(ctx, served.etag)) return;
  ctx.set('X-Content-Type-Options', 'nosniff');
  if (service.store.signs) {
    ctx.set('Cache-Control', REDIRECT_CACHE);
    const location = await service.signedUrl(served.key, {
      contentType: served.contentType,
      contentDisposition: served.disposition,
      cacheControl: IMMUTABLE,
    });
    ctx.redirect(location);
    return;
  }
  // Before any header of the file: a 416 is an error answer, not a download.
  const range = served.size === undefined ? undefined : requestedRange(ctx, served.size);
  ctx.set('ETag', served.etag);
  ctx.set('Cache-Control', IMMUTABLE);
  ctx.set('Content-Disposition', served.disposition);
  ctx.set('Content-Security-Policy', DOWNLOAD_CSP);
  ctx.type = served.contentType;
  if (served.size === undefined) {
    ctx.body = await service.open(served.key);
    return;
  }
  ctx.set('Accept-Ranges', 'bytes');
  ctx.status = range ? 206 : 200;
  if (range) ctx.set('Content-Range', `bytes ${range.start}-${range.end}/${served.size}`);
  // HEAD: the headers alone; a stream opened here would never be read.
  if (ctx.method !== 'HEAD') ctx.body = await service.open(served.key, range);
  ctx.length = range ? range.end - range.start + 1 : served.size;
}

/** A 304 when If-None-Match names this ETag (or `*`). */
function answeredNotModified(ctx: Context, etag: string): boolean {
  const header = ctx.get('If-None-Match');
  if (!header) return false;
  const listed = header.split(',').map((tag) => tag.trim().replace(/^W\//, ''));
  if (!listed.includes('*') && !listed.includes(etag)) return false;
  ctx.status = 304;
  ctx.set('ETag', etag);
  ctx.set('Cache-Control', IMMUTABLE);
  return true;
}

/**
 * The one range asked for, or undefined for the whole file: a malformed header and several ranges are answered
 * with the whole file (RFC 9110 lets a server ignore Range). A range starting past the end is a 416.
 */
function requestedRange(ctx: Context, size: number): { start: number; end: number } | undefined {
  const header = ctx.get('Range');
  if (!header) return undefined;
  const parsed = parseRange(size, header);
  if (parsed.type !== 'bytes') return undefined;
  // range-parser's code: bit 1 a range it could not read, bit 2 a range that starts past the end.
  if (parsed.ranges.length === 0 && (parsed.code & 2) !== 0) {
    ctx.set('Content-Range', `bytes */${size}`);
    throw new AppError('range_not_satisfiable', 'The range starts past the end of the file', { size });
  }
  const ranges = combineRanges(parsed.ranges);
  if (ranges.length !== 1) return undefined;
  return { start: ranges[0]!.start, end: ranges[0]!.end };
}
