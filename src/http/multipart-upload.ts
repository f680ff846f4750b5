// Receives one file from a multipart/form-data request, streaming, on an upload thread: this side forwards the
// request's bytes through a MessagePort to cpu/tasks/upload.task.ts, which parses them (busboy), hashes and writes
// the file to a temporary path in the store's incoming/ directory. The whole file is never in memory: at most
// IN_FLIGHT_BYTES of one upload are between the socket and its thread, and the socket is paused beyond that.
// Anything wrong rejects with the contract's error, and no temporary file is left behind.
import { randomUUID } from 'node:crypto';
import { rm } from 'node:fs/promises';
import type { IncomingMessage } from 'node:http';
import path from 'node:path';
import { MessageChannel } from 'node:worker_threads';
import { AppError } from '../core/errors.js';
import { TASKS } from '../cpu/tasks.js';
import {
  ABORT,
  END,
  tooLarge,
  type UploadFailure,
  type UploadMessage,
  type UploadStreamOutput,
} from '../cpu/tasks/upload.task.js';
import type { WorkerPool } from '../cpu/worker-pool.js';
import { storeUnavailable } from '../services/attachments.service.js';

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

// Multipart framing around the file: boundaries and part headers. A Content-Length beyond the file limit plus
// this is refused before a byte is read.
const FRAMING_ALLOWANCE = 64 * 1024;

// Bytes of one upload sent to its thread and not yet taken in there. Four of the thread's acknowledgements
// (ACK_EVERY_BYTES): enough that the socket never waits on a thread that keeps up, little enough that 20 uploads
// hold 20 MB at most.
const IN_FLIGHT_BYTES = 1024 * 1024;

/** The client's mistakes as the thread worded them; the thread's own disk trouble as any store outage. */
const toAppError = (failure: UploadFailure): AppError =>
  failure.code === 'overloaded' ? storeUnavailable() : new AppError(failure.code, failure.message, failure.details);

/** The body's chunk as an ArrayBuffer to move to the thread: the chunk's own when it has one to itself. */
function transferable(chunk: Buffer): ArrayBuffer {
  // node:http copies each body chunk out of the socket's read buffer into a buffer of its own (nothing else holds
  // it), so that buffer can be moved instead of copied; a chunk that shares its buffer is copied.
  const whole = chunk.byteOffset === 0 && chunk.byteLength === chunk.buffer.byteLength;
  return whole && chunk.buffer instanceof ArrayBuffer
    ? chunk.buffer
    : (chunk.buffer.slice(chunk.byteOffset, chunk.byteOffset + chunk.byteLength) as ArrayBuffer);
}

export async function receiveUpload(
  req: IncomingMessage,
  uploads: WorkerPool,
  limits: UploadLimits,
): Promise<ReceivedFile> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limits.maxBytes + FRAMING_ALLOWANCE)
    throw toAppError(tooLarge(limits.maxBytes));

  const file = path.join(limits.incomingDir, `${randomUUID()}.upload`);
  const { port1: toThread, port2: threadSide } = new MessageChannel();
  const post = (message: UploadMessage, transfer?: ArrayBuffer[]) => toThread.postMessage(message, transfer);
  let sent = 0;
  let taken = 0;
  let paused = false;
  toThread.on('message', (takenSoFar: number) => {
    taken = takenSoFar;
    if (paused && sent - taken < IN_FLIGHT_BYTES) {
      paused = false;
      req.resume();
    }
  });
  const onData = (chunk: Buffer) => {
    sent += chunk.length;
    const bytes = transferable(chunk);
    post(bytes, [bytes]);
    if (sent - taken >= IN_FLIGHT_BYTES) {
      paused = true;
      req.pause();
    }
  };
  const onEnd = () => post(END);
  const onClose = () => {
    if (!req.complete) post(ABORT);
  };
  req.on('data', onData);
  req.once('end', onEnd);
  req.once('close', onClose);

  let outcome: UploadStreamOutput | undefined;
  try {
    outcome = await uploads.run(
      TASKS.receiveUpload,
      { port: threadSide, headers: req.headers, file, maxBytes: limits.maxBytes, nameMaxChars: limits.nameMaxChars },
      [threadSide],
    );
  } finally {
    req.off('data', onData);
    req.off('end', onEnd);
    req.off('close', onClose);
    toThread.close();
    // An early answer (413, 400) leaves the rest of the body unread: it is read and dropped, and the route closes
    // the connection after answering.
    if (!req.complete) req.resume();
    // Refused, no room on the upload threads (503 overloaded), or the thread died: whatever it wrote goes. The
    // thread has closed the file by the time its task ends.
    if (!outcome?.ok) await rm(file, { force: true });
  }
  if (!outcome.ok) throw toAppError(outcome.error);
  const { head } = outcome;
  return {
    file,
    name: outcome.name,
    size: outcome.size,
    sha256: outcome.sha256,
    head: Buffer.from(head.buffer, head.byteOffset, head.byteLength),
  };
}
