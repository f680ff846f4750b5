// Uploads for the attachment tests: multipart bodies built by hand (so a test can cut one off, send two files or
// spoof a part's Content-Type), sent over node:http so an early answer (413 mid-upload) is still read.
import http from 'node:http';
import { randomBytes } from 'node:crypto';
import { crc32, deflateSync } from 'node:zlib';
import sharp from 'sharp';
import { expect } from 'chai';
import { request, type Account } from './client.js';

export interface UploadReply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: any;
}

export interface Part {
  field?: string;
  name?: string;
  contentType?: string;
  bytes: Buffer;
}

const BOUNDARY = `----parley-test-${randomBytes(6).toString('hex')}`;

export function multipart(parts: Part[], { truncate = false } = {}): { body: Buffer; contentType: string } {
  const chunks: Buffer[] = [];
  for (const part of parts) {
    const disposition = `form-data; name="${part.field ?? 'file'}"${part.name === undefined ? '' : `; filename="${part.name}"`}`;
    chunks.push(
      Buffer.from(
        `--${BOUNDARY}\r\nContent-Disposition: ${disposition}\r\nContent-Type: ${part.contentType ?? 'application/octet-stream'}\r\n\r\n`,
        'utf8',
      ),
    );
    chunks.push(part.bytes, Buffer.from('\r\n'));
  }
  chunks.push(Buffer.from(`--${BOUNDARY}--\r\n`));
  let body = Buffer.concat(chunks);
  if (truncate) body = body.subarray(0, body.length - Math.floor(parts[0]!.bytes.length / 2) - 40);
  return { body, contentType: `multipart/form-data; boundary=${BOUNDARY}` };
}

/** Sends the body in slices and reads whatever answer comes, also one that arrives before the body is all sent. */
export function postRaw(
  baseUrl: string,
  path: string,
  token: string | undefined,
  body: Buffer,
  contentType: string,
  {
    chunked = false,
    holdUntil,
  }: {
    chunked?: boolean;
    /** After the first slice, the rest of the body waits for this: an upload held open mid-body. */
    holdUntil?: Promise<unknown>;
  } = {},
): Promise<UploadReply> {
  return new Promise((resolve, reject) => {
    const request = http.request(baseUrl + path, {
      method: 'POST',
      // Chunked: no Content-Length, so only the check while streaming can stop an oversized file.
      headers: {
        'content-type': contentType,
        ...(chunked ? {} : { 'content-length': String(body.length) }),
        ...(token ? { authorization: `Bearer ${token}` } : {}),
      },
    });
    let answered = false;
    request.on('response', (response) => {
      answered = true;
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        resolve({
          status: response.statusCode!,
          headers: response.headers,
          body: (response.headers['content-type'] ?? '').includes('json') && text ? JSON.parse(text) : text,
        });
      });
    });
    // The server may answer and close before the whole body is written (413 mid-stream): that is an answer.
    request.on('error', (error) => {
      if (!answered) reject(error);
    });
    // In slices, so the server sees a stream rather than one write.
    let offset = 0;
    const writeMore = () => {
      while (offset < body.length) {
        const slice = body.subarray(offset, offset + 256 * 1024);
        offset += slice.length;
        if (holdUntil && offset === slice.length) return void request.write(slice, () => holdUntil.then(writeMore));
        if (!request.write(slice)) return void request.once('drain', writeMore);
      }
      request.end();
    };
    writeMore();
  });
}

export function upload(baseUrl: string, who: Account, part: Part): Promise<UploadReply> {
  const { body, contentType } = multipart([part]);
  return postRaw(baseUrl, '/api/attachments', who.accessToken, body, contentType);
}

/** Uploads a file as `who` and sends it in a message to `conversationId`; both must succeed. */
export async function uploadAndSend(
  baseUrl: string,
  who: Account,
  conversationId: string,
  part: Part,
): Promise<{ attachment: any; message: any }> {
  const reply = await upload(baseUrl, who, part);
  expect(reply.status, JSON.stringify(reply.body)).to.equal(201);
  const sent = await request(baseUrl, 'POST', `/api/conversations/${conversationId}/messages`, {
    token: who.accessToken,
    body: { clientMsgId: `m-${Math.random()}`, attachmentIds: [reply.body.attachment.id] },
  });
  expect(sent.status).to.equal(201);
  return { attachment: reply.body.attachment, message: sent.body.message };
}

/** A cut-off body: the length promises more than is sent, then the connection ends. */
export function uploadTruncated(baseUrl: string, who: Account, part: Part): Promise<UploadReply | 'closed'> {
  const { body, contentType } = multipart([part]);
  const sent = body.subarray(0, Math.floor(body.length / 2));
  return new Promise((resolve) => {
    const request = http.request(baseUrl + '/api/attachments', {
      method: 'POST',
      headers: {
        'content-type': contentType,
        'content-length': String(body.length),
        authorization: `Bearer ${who.accessToken}`,
      },
    });
    request.on('response', (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () =>
        resolve({
          status: response.statusCode!,
          headers: response.headers,
          body: JSON.parse(Buffer.concat(chunks).toString()),
        }),
      );
    });
    request.on('error', () => resolve('closed'));
    request.write(sent, () => setTimeout(() => request.destroy(), 100));
  });
}

export async function png(width = 64, height = 48): Promise<Buffer> {
  return sharp({ create: { width, height, channels: 3, background: { r: 200, g: 30, b: 90 } } })
    .png()
    .toBuffer();
}

/**
 * A decompression bomb: a valid PNG header claiming width x height pixels, with a tiny compressed body. A decoder
 * that believed it would need width x height x 3 bytes.
 */
export function pngBomb(width = 30_000, height = 30_000): Buffer {
  const chunk = (type: string, data: Buffer) => {
    const head = Buffer.alloc(4);
    head.writeUInt32BE(data.length);
    const typed = Buffer.concat([Buffer.from(type, 'ascii'), data]);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(typed));
    return Buffer.concat([head, typed, crc]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr.writeUInt8(8, 8); // bit depth
  ihdr.writeUInt8(2, 9); // truecolour
  // One zero row, compressed: the rest "follows" only in the header's imagination.
  const idat = deflateSync(Buffer.alloc(1 + width * 3));
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', idat),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}
