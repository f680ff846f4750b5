// Turns one page of an export into a complete gzip member of NDJSON (one JSON object per line). Concatenated gzip
// members form a valid gzip stream, so pages can be compressed independently, in order, and written one after
// another. Pure: no imports from the rest of the service, so it runs on a worker thread unchanged.
import { gzipSync } from 'node:zlib';

// Level 6 is zlib's default balance; exports are read once, so more CPU for a smaller file buys little.
const GZIP_LEVEL = 6;

export function gzipNdjsonPage(input: { records: readonly unknown[] }): Uint8Array {
  if (!Array.isArray(input?.records)) throw new TypeError('gzipNdjsonPage: records must be an array');
  let text = '';
  for (const record of input.records) text += `${JSON.stringify(record)}\n`;
  return gzipSync(text, { level: GZIP_LEVEL });
}
