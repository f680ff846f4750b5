// Attachments in an S3-compatible object store (AWS S3, MinIO, DigitalOcean Spaces, s3rver in the tests).
// Path-style addressing whenever an endpoint is given: S3-compatible servers rarely resolve bucket subdomains.
import { createReadStream } from 'node:fs';
import type { Readable } from 'node:stream';
import {
  DeleteObjectCommand,
  GetObjectCommand,
  HeadBucketCommand,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import type { ByteRange, ObjectStore, SignedResponse } from './object-store.js';

export interface S3Settings {
  bucket: string;
  region: string;
  endpoint?: string;
  accessKey?: string;
  secretKey?: string;
}

export class S3Store implements ObjectStore {
  readonly kind = 's3' as const;
  private readonly client: S3Client;

  constructor(private readonly settings: S3Settings) {
    this.client = new S3Client({
      region: settings.region,
      ...(settings.endpoint ? { endpoint: settings.endpoint, forcePathStyle: true } : {}),
      ...(settings.accessKey && settings.secretKey
        ? { credentials: { accessKeyId: settings.accessKey, secretAccessKey: settings.secretKey } }
        : {}),
      // Checksums only where S3 requires them: the SDK's default (aws-chunked bodies with a trailing CRC) is not
      // understood by every S3-compatible server.
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
      // The service times every call itself (ATTACHMENT_STORE_TIMEOUT_MS); a retry would only add to the wait.
      maxAttempts: 1,
    });
  }

  async putFile(
    key: string,
    file: string,
    meta: { contentType: string; size: number },
    signal: AbortSignal,
  ): Promise<void> {
    await this.client.send(
      new PutObjectCommand({
        Bucket: this.settings.bucket,
        Key: key,
        Body: createReadStream(file),
        ContentLength: meta.size,
        ContentType: meta.contentType,
      }),
      { abortSignal: signal },
    );
  }

  async putBytes(key: string, bytes: Uint8Array, contentType: string, signal: AbortSignal): Promise<void> {
    await this.client.send(
      new PutObjectCommand({ Bucket: this.settings.bucket, Key: key, Body: bytes, ContentType: contentType }),
      { abortSignal: signal },
    );
  }

  async read(key: string, range: ByteRange | undefined, signal: AbortSignal): Promise<Readable> {
    const answer = await this.client.send(
      new GetObjectCommand({
        Bucket: this.settings.bucket,
        Key: key,
        ...(range ? { Range: `bytes=${range.start}-${range.end}` } : {}),
      }),
      { abortSignal: signal },
    );
    return answer.Body as Readable;
  }

  async delete(key: string, signal: AbortSignal): Promise<void> {
    await this.client.send(new DeleteObjectCommand({ Bucket: this.settings.bucket, Key: key }), {
      abortSignal: signal,
    });
  }

  signedUrl(key: string, response: SignedResponse): Promise<string> {
    const command = new GetObjectCommand({
      Bucket: this.settings.bucket,
      Key: key,
      ResponseContentType: response.contentType,
      ResponseContentDisposition: response.contentDisposition,
      ResponseCacheControl: response.cacheControl,
    });
    return getSignedUrl(this.client, command, { expiresIn: response.ttlSec });
  }

  async ping(signal: AbortSignal): Promise<void> {
    await this.client.send(new HeadBucketCommand({ Bucket: this.settings.bucket }), { abortSignal: signal });
  }

  close(): void {
    this.client.destroy();
  }
}
