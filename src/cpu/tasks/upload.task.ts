// Receives one upload's multipart body on an upload thread (app.ts makes them): the main thread forwards the raw
// request bytes through a MessagePort, and this thread parses them (busboy), takes the file's SHA-256, size and
// first bytes (for sniffing), and writes the file to its temporary path. That per-byte work was most of the main
// thread's time during uploads (docs/attachments.md, Benchmark); here it runs beside the event loop.
//
// Anything wrong (no file, two files, an unusable name, a truncated body, too many bytes, a disk that refuses the
// file) ends the task at once with the contract's error as its result; the caller removes the temporary file. Writes are
// synchronous on purpose: this thread exists to do them, and an fs call from here would only queue on libuv's
// shared threads and come back.
import { createHash } from 'node:crypto';
import { closeSync, openSync, writeSync } from 'node:fs';
import type { IncomingHttpHeaders } from 'node:http';
import type { MessagePort } from 'node:worker_threads';
import busboy from 'busboy';
import type { ErrorCode } from '../../contract/errors.js';
import { SNIFF_BYTES } from '../../services/attachment-types.js';

/** The form field that carries the file (API.md). */
export const FILE_FIELD = 'file';

/** What the main thread posts: body bytes (each ArrayBuffer one chunk, in order), then `end` or `abort`. */
export type UploadMessage = ArrayBuffer | typeof END | typeof ABORT;
export const END = 'end';
/** The client went away mid-body. */
export const ABORT = 'abort';

/** Body bytes this thread has taken in (parsed, and the file's written); posted back every ACK_EVERY_BYTES so the
 * sender can keep a window of bytes in flight. */
export const ACK_EVERY_BYTES = 256 * 1024;

export interface UploadStreamInput {
  port: MessagePort;
  headers: IncomingHttpHeaders;
  /** Where the file goes; created here (never overwritten). Closed before the task ends; the caller removes it. */
  file: string;
  maxBytes: number;
  nameMaxChars: number;
}

export interface UploadFailure {
  code: Extract<ErrorCode, 'validation_failed' | 'payload_too_large' | 'overloaded'>;
  message: string;
  details?: Record<string, unknown>;
}

export type UploadStreamOutput =
  { ok: true; name: string; size: number; sha256: string; head: Uint8Array } | { ok: false; error: UploadFailure };

// busboy's own buffering; a chunk is one loopback socket read (64 KB) at most anyway.
const PARSER_BUFFER_BYTES = 64 * 1024;

const invalid = (message: string, details?: Record<string, unknown>): UploadFailure => ({
  code: 'validation_failed',
  message,
  ...(details ? { details } : {}),
});

export const tooLarge = (maxBytes: number): UploadFailure => ({
  code: 'payload_too_large',
  message: `The file is larger than the ${maxBytes} bytes allowed`,
  details: { maxBytes },
});

/**
 * A disk that refuses the temporary file (full, missing, read-only) is ours, not the client's: the route answers it
 * as the store's outage (storeUnavailable), so this message stays in the server.
 */
const diskRefused = (): UploadFailure => ({
  code: 'overloaded',
  message: 'The temporary file could not be written',
});

/** A refusal of the client's input, thrown within this file and returned as the task's result. */
class Refused extends Error {
  readonly code: UploadFailure['code'];

  constructor(readonly failure: UploadFailure) {
    super(failure.message);
    this.code = failure.code;
  }
}

// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001F\u007F]/;

/** The display name of an upload: its last path component (so `../../etc/passwd` is just `passwd`), checked. */
export function displayName(raw: string | undefined, maxChars: number): string {
  const refuse = (message: string, details?: Record<string, unknown>) => new Refused(invalid(message, details));
  if (raw === undefined || raw === '') throw refuse('The file needs a file name');
  if (CONTROL.test(raw)) throw refuse('The file name must not contain control characters (NUL included)');
  const name = raw.split(/[/\\]/).filter(Boolean).pop() ?? '';
  if (name === '' || name === '.' || name === '..') throw refuse('The file name has no usable part', { name: raw });
  if ([...name].length > maxChars) throw refuse(`The file name must be at most ${maxChars} characters`, { maxChars });
  return name;
}

export function receiveUploadStream(input: UploadStreamInput): Promise<UploadStreamOutput> {
  const { port, file, maxBytes } = input;
  return new Promise((resolve) => {
    let parser: busboy.Busboy | undefined;
    let fd: number | undefined;
    let outcome: UploadStreamOutput | undefined;
    let written = 0;
    let consumed = 0;
    let ackedAt = 0;

    const finish = (proposed: UploadStreamOutput) => {
      if (outcome) return;
      let result = proposed;
      if (fd !== undefined) {
        try {
          closeSync(fd);
        } catch {
          if (result.ok) result = { ok: false, error: diskRefused() };
        }
      }
      outcome = result;
      port.close();
      if (parser) {
        const done = parser;
        done.removeAllListeners();
        done.on('error', () => undefined);
        // Not within busboy's own call (finish often runs in one of its events): it would carry on with torn state.
        setImmediate(() => done.destroy());
      }
      resolve(result);
    };
    const fail = (failure: UploadFailure) => finish({ ok: false, error: failure });
    const failWith = (error: unknown) => fail(error instanceof Refused ? error.failure : diskRefused());

    try {
      parser = busboy({
        headers: input.headers,
        defParamCharset: 'utf8',
        highWaterMark: PARSER_BUFFER_BYTES,
        fileHwm: PARSER_BUFFER_BYTES,
        // busboy signals its limit when a file reaches it, so one byte more than allowed is what marks "too large".
        limits: { files: 1, fileSize: maxBytes + 1, fields: 10, fieldSize: 1024, parts: 11, headerPairs: 20 },
      });
    } catch {
      return fail(invalid('Expected a multipart/form-data body with a boundary'));
    }

    let fileEnded = false;
    let formEnded = false;
    const hash = createHash('sha256');
    const headChunks: Buffer[] = [];
    let headLength = 0;
    let name = '';
    const succeedWhenDone = () => {
      if (!formEnded || !fileEnded) return;
      finish({ ok: true, name, size: written, sha256: hash.digest('hex'), head: Buffer.concat(headChunks) });
    };

    parser.on('file', (field, stream, info) => {
      // Destroying the parser (finish) errors its file streams; the outcome is already decided by then.
      stream.on('error', () => undefined);
      try {
        if (field !== FILE_FIELD)
          throw new Refused(invalid(`The file must be sent in the form field "${FILE_FIELD}"`, { field }));
        name = displayName(info.filename, input.nameMaxChars);
        fd = openSync(file, 'wx');
      } catch (error) {
        stream.resume();
        return failWith(error);
      }
      stream.once('limit', () => fail(tooLarge(maxBytes)));
      stream.on('data', (chunk: Buffer) => {
        if (outcome) return;
        hash.update(chunk);
        if (headLength < SNIFF_BYTES) {
          const part = chunk.subarray(0, SNIFF_BYTES - headLength);
          headChunks.push(part);
          headLength += part.length;
        }
        try {
          let offset = 0;
          while (offset < chunk.length) offset += writeSync(fd!, chunk, offset, chunk.length - offset);
        } catch (error) {
          return failWith(error);
        }
        written += chunk.length;
      });
      stream.once('end', () => {
        fileEnded = true;
        succeedWhenDone();
      });
    });
    parser.on('filesLimit', () => fail(invalid(`Send exactly one file, in the form field "${FILE_FIELD}"`)));
    parser.on('partsLimit', () => fail(invalid('Too many parts in the form')));
    parser.on('fieldsLimit', () => fail(invalid('Too many fields in the form')));
    parser.on('error', () => fail(invalid('The multipart body is malformed or cut off')));
    parser.on('close', () => {
      formEnded = true;
      if (fd === undefined) return fail(invalid(`The form has no file in the field "${FILE_FIELD}"`));
      succeedWhenDone();
    });

    port.on('message', (message: UploadMessage) => {
      if (outcome) return;
      if (message === END) return void parser!.end();
      if (message === ABORT) return fail(invalid('The upload was cut off'));
      // busboy parses these bytes and hands the file's part to its stream within this turn (next ticks included),
      // so they are hashed and written before the next message is read: the acknowledgement can count them.
      try {
        parser!.write(Buffer.from(message));
      } catch {
        return fail(invalid('The multipart body is malformed or cut off'));
      }
      consumed += message.byteLength;
      if (consumed - ackedAt >= ACK_EVERY_BYTES && !outcome) {
        ackedAt = consumed;
        port.postMessage(consumed);
      }
    });
  });
}
