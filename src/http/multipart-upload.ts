// Receives one file from a multipart/form-data request, streaming: the bytes go to a temporary file in the
// store's incoming/ directory while their SHA-256, size and first bytes (for sniffing) are taken on the way; the
// whole file is never in memory. Parsing is busboy's. Anything wrong (no file, two files, an unusable name, a
// truncated body, too many bytes) rejects with the contract's error, and no temporary file is left behind.
import { createHash, randomUUID } from 'node:crypto';
import { createWriteStream, type WriteStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import type { IncomingMessage } from 'node:http';
import path from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import busboy from 'busboy';
import { AppError, overloaded, validationFailed } from '../core/errors.js';
import { SNIFF_BYTES } from '../services/attachment-types.js';
import { STORE_RETRY_AFTER_SEC } from '../services/attachments.service.js';

export interface UploadLimits {
  incomingDir: string;
  maxBytes: number;
  nameMaxChars: number;
}

export interface ReceivedFile {
  /** The temporary file; the caller moves it into the store and removes it in any case. */
  file: string;
  name: string;
  size: number;
  sha256: string;
  /** The first SNIFF_BYTES bytes (fewer for a smaller file). */
  head: Buffer;
}

/** The form field that carries the file (API.md). */
export const FILE_FIELD = 'file';

// Multipart framing around the file: boundaries and part headers. A Content-Length beyond the file limit plus
// this is refused before a byte is read.
const FRAMING_ALLOWANCE = 64 * 1024;

// One upload's work per event-loop turn is one buffer's worth: 64 KB (a loopback socket read) keeps /health/live
// answering within tens of milliseconds while 20 uploads stream; 1 MB buffers doubled its p99 for no more MB/s
// (docs/attachments.md, Benchmark).
const STREAM_BUFFER_BYTES = 64 * 1024;

export const tooLarge = (maxBytes: number) =>
  new AppError('payload_too_large', `The file is larger than the ${maxBytes} bytes allowed`, { maxBytes });

// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001F\u007F]/;

/** The display name of an upload: its last path component (so `../../etc/passwd` is just `passwd`), checked. */
export function displayName(raw: string | undefined, maxChars: number): string {
  if (raw === undefined || raw === '') throw validationFailed('The file needs a file name');
  if (CONTROL.test(raw)) throw validationFailed('The file name must not contain control characters (NUL included)');
  const name = raw.split(/[/\\]/).filter(Boolean).pop() ?? '';
  if (name === '' || name === '.' || name === '..')
    throw validationFailed('The file name has no usable part', { name: raw });
  if ([...name].length > maxChars)
    throw validationFailed(`The file name must be at most ${maxChars} characters`, { maxChars });
  return name;
}

const noop = () => undefined;

/** A cut-off part is the client's doing; a disk that refuses the temporary file (full, missing) is ours. */
function writeFailure(error: unknown): AppError {
  if (error instanceof AppError) return error;
  const code = (error as { code?: string } | undefined)?.code;
  if (code === 'ERR_STREAM_PREMATURE_CLOSE' || code === undefined) return validationFailed('The upload was cut off');
  return overloaded(STORE_RETRY_AFTER_SEC, 'Attachment storage is unavailable; retry shortly');
}

export function receiveUpload(req: IncomingMessage, limits: UploadLimits): Promise<ReceivedFile> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limits.maxBytes + FRAMING_ALLOWANCE)
    return Promise.reject(tooLarge(limits.maxBytes));
  let parser: busboy.Busboy;
  try {
    parser = busboy({
      headers: req.headers,
      defParamCharset: 'utf8',
      highWaterMark: STREAM_BUFFER_BYTES,
      fileHwm: STREAM_BUFFER_BYTES,
      // busboy signals its limit when a file reaches it, so one byte more than allowed is what marks "too large".
      limits: { files: 1, fileSize: limits.maxBytes + 1, fields: 10, fieldSize: 1024, parts: 11, headerPairs: 20 },
    });
  } catch {
    return Promise.reject(validationFailed('Expected a multipart/form-data body with a boundary'));
  }

  return new Promise<ReceivedFile>((resolve, reject) => {
    let settled = false;
    let tempFile: string | undefined;
    let fileStream: (NodeJS.ReadableStream & { destroy(): void }) | undefined;
    let writer: WriteStream | undefined;
    let written: Promise<ReceivedFile> | undefined;
    const fail = (error: unknown) => {
      if (settled) return;
      settled = true;
      req.unpipe(parser);
      // The rest of the body is read and dropped; the route closes the connection after answering.
      req.resume();
      parser.removeAllListeners();
      parser.on('error', () => undefined);
      parser.destroy();
      // The temporary file goes once its writer has let go of it (removed earlier, a late open would recreate it).
      fileStream?.destroy();
      const writerDone =
        writer && !writer.closed
          ? new Promise<void>((done) => writer!.once('close', () => done()).destroy())
          : Promise.resolve();
      void writerDone
        .then(() => (tempFile ? rm(tempFile, { force: true }) : undefined))
        .catch(noop)
        .finally(() => reject(error));
    };

    parser.on('file', (field, stream, info) => {
      // Destroying the parser (fail) errors its file streams; the outcome is already decided by then.
      stream.on('error', noop);
      if (field !== FILE_FIELD) {
        stream.resume();
        return fail(validationFailed(`The file must be sent in the form field "${FILE_FIELD}"`, { field }));
      }
      let name: string;
      try {
        name = displayName(info.filename, limits.nameMaxChars);
      } catch (error) {
        stream.resume();
        return fail(error);
      }
      tempFile = path.join(limits.incomingDir, `${randomUUID()}.upload`);
      const hash = createHash('sha256');
      const headChunks: Buffer[] = [];
      let headLength = 0;
      let size = 0;
      const tap = new Transform({
        transform(chunk: Buffer, _encoding, done) {
          hash.update(chunk);
          size += chunk.length;
          if (headLength < SNIFF_BYTES) {
            const part = chunk.subarray(0, SNIFF_BYTES - headLength);
            headChunks.push(part);
            headLength += part.length;
          }
          done(null, chunk);
        },
      });
      fileStream = stream;
      stream.once('limit', () => fail(tooLarge(limits.maxBytes)));
      const file = tempFile;
      writer = createWriteStream(file, { flags: 'wx', highWaterMark: STREAM_BUFFER_BYTES });
      written = pipeline(stream, tap, writer).then(() => ({
        file,
        name,
        size,
        sha256: hash.digest('hex'),
        head: Buffer.concat(headChunks),
      }));
      // A failure here also surfaces through the parser's error or close; this only keeps it from going unhandled.
      written.catch((error: unknown) => fail(writeFailure(error)));
    });
    parser.on('filesLimit', () => fail(validationFailed(`Send exactly one file, in the form field "${FILE_FIELD}"`)));
    parser.on('partsLimit', () => fail(validationFailed('Too many parts in the form')));
    parser.on('fieldsLimit', () => fail(validationFailed('Too many fields in the form')));
    parser.on('error', () => fail(validationFailed('The multipart body is malformed or cut off')));
    parser.on('close', () => {
      if (settled) return;
      if (!written) return fail(validationFailed(`The form has no file in the field "${FILE_FIELD}"`));
      written.then(
        (received) => {
          if (settled) return;
          settled = true;
          resolve(received);
        },
        () => undefined,
      );
    });
    req.once('close', () => {
      if (!req.complete) fail(validationFailed('The upload was cut off'));
    });
    req.pipe(parser);
  });
}
