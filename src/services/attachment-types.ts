// What an upload is, judged from its first bytes (never from the client's Content-Type or file name), and how
// each kind may be served. Binary formats come from file-type's signatures; text is told apart by hand because
// file-type does not judge text: valid UTF-8 without control characters is text/plain, unless it starts like
// markup, which is classed as SVG, HTML or XML so that it can never slip in (or be served) as plain text.
import { fileTypeFromBuffer } from 'file-type';

/** How many leading bytes are kept for sniffing (file-type reads at most about this many). */
export const SNIFF_BYTES = 4100;

/** Images a browser may show inline and the thumbnailer can read. SVG is not among them (it can carry script). */
export const RASTER_IMAGE_TYPES: ReadonlySet<string> = new Set(['image/png', 'image/jpeg', 'image/gif', 'image/webp']);

export const servedInline = (contentType: string): boolean => RASTER_IMAGE_TYPES.has(contentType);

const XML_TYPES = new Set(['application/xml', 'text/xml']);

/** The content type of a file from its first bytes (`complete` when they are the whole file); undefined: unknown. */
export async function sniffContentType(head: Uint8Array, complete: boolean): Promise<string | undefined> {
  const detected = await fileTypeFromBuffer(head);
  // file-type calls any `<?xml` document XML; an SVG among them must be known as one.
  if (detected && !XML_TYPES.has(detected.mime)) return detected.mime;
  const text = decodeText(head, complete);
  if (text === undefined) return undefined;
  const start = text
    .replace(/^\uFEFF/, '')
    .trimStart()
    .slice(0, 512)
    .toLowerCase();
  if (start.startsWith('<')) {
    if (text.toLowerCase().includes('<svg')) return 'image/svg+xml';
    if (/^<(!doctype html|html|head|body|script|iframe|meta|div|a\s)/.test(start)) return 'text/html';
    return start.startsWith('<?xml') ? 'application/xml' : 'text/html';
  }
  return 'text/plain';
}

// Tab, line feed, form feed, carriage return and escape are the only C0 controls ordinary text has.
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u0008\u000B\u000E-\u001A\u001C-\u001F\u007F]/;

function decodeText(head: Uint8Array, complete: boolean): string | undefined {
  // The sample may end inside a multi-byte character: up to three trailing bytes are allowed to be cut off.
  for (let cut = 0; cut <= (complete ? 0 : 3) && cut < head.length; cut++) {
    try {
      const text = new TextDecoder('utf-8', { fatal: true }).decode(head.subarray(0, head.length - cut));
      return CONTROL.test(text) ? undefined : text;
    } catch {
      // try one byte shorter
    }
  }
  return undefined;
}
