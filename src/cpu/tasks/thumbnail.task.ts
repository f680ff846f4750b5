// Makes a thumbnail of an image file with sharp, on a worker thread. A source with more pixels than allowed (a
// decompression bomb: a few KB that decode to gigabytes) is refused from its header, before decoding, and
// answered as a result rather than a thrown error, so the caller can tell "bad image" from "pool trouble".
import sharp from 'sharp';

// One libvips thread per task: the pool is sized to the cores already (cpu/, capacity/plan.ts), and each of its
// threads fanning out over every core would only make them fight. No operation cache: every source is new.
sharp.concurrency(1);
sharp.cache(false);

export interface ThumbnailInput {
  file: string;
  maxSidePx: number;
  maxInputPixels: number;
}

export type ThumbnailOutput =
  | { ok: true; bytes: Uint8Array; contentType: 'image/webp'; width: number; height: number }
  | { ok: false; reason: 'too_many_pixels' | 'unreadable'; message: string };

export async function makeThumbnail(input: ThumbnailInput): Promise<ThumbnailOutput> {
  try {
    const { data, info } = await sharp(input.file, { limitInputPixels: input.maxInputPixels, failOn: 'error' })
      .rotate()
      .resize(input.maxSidePx, input.maxSidePx, { fit: 'inside', withoutEnlargement: true })
      .webp({ quality: 80 })
      .toBuffer({ resolveWithObject: true });
    return {
      ok: true,
      bytes: new Uint8Array(data.buffer, data.byteOffset, data.byteLength),
      contentType: 'image/webp',
      width: info.width,
      height: info.height,
    };
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    return { ok: false, reason: /pixel limit/i.test(message) ? 'too_many_pixels' : 'unreadable', message };
  }
}
