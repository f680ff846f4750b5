// Attachments in Azure Blob Storage (Azurite, Microsoft's emulator, in the tests). Signed URLs are service SAS
// URLs, which need the account key: the connection string must carry AccountKey (not a SAS token alone).
import type { Readable } from 'node:stream';
import { BlobSASPermissions, BlobServiceClient, type ContainerClient } from '@azure/storage-blob';
import type { ByteRange, ObjectStore, SignedResponse } from './object-store.js';

export interface AzureSettings {
  connectionString: string;
  container: string;
}

export class AzureStore implements ObjectStore {
  readonly kind = 'azure' as const;
  private readonly container: ContainerClient;

  constructor(settings: AzureSettings) {
    // No retries: the service times every call itself (ATTACHMENT_STORE_TIMEOUT_MS).
    const service = BlobServiceClient.fromConnectionString(settings.connectionString, {
      retryOptions: { maxTries: 1 },
    });
    this.container = service.getContainerClient(settings.container);
  }

  async putFile(key: string, file: string, meta: { contentType: string }, signal: AbortSignal): Promise<void> {
    // A block blob is committed as a whole by its last call: until then nothing is visible under the key.
    await this.container
      .getBlockBlobClient(key)
      .uploadFile(file, { blobHTTPHeaders: { blobContentType: meta.contentType }, abortSignal: signal });
  }

  async putBytes(key: string, bytes: Uint8Array, contentType: string, signal: AbortSignal): Promise<void> {
    await this.container
      .getBlockBlobClient(key)
      .uploadData(bytes, { blobHTTPHeaders: { blobContentType: contentType }, abortSignal: signal });
  }

  async read(key: string, range: ByteRange | undefined, signal: AbortSignal): Promise<Readable> {
    const answer = await this.container
      .getBlobClient(key)
      .download(range?.start ?? 0, range ? range.end - range.start + 1 : undefined, { abortSignal: signal });
    return answer.readableStreamBody as Readable;
  }

  async delete(key: string, signal: AbortSignal): Promise<void> {
    await this.container.getBlobClient(key).deleteIfExists({ abortSignal: signal });
  }

  signedUrl(key: string, response: SignedResponse): Promise<string> {
    return this.container.getBlobClient(key).generateSasUrl({
      permissions: BlobSASPermissions.parse('r'),
      // A little slack before now: the store's clock may run behind ours.
      startsOn: new Date(Date.now() - 60_000),
      expiresOn: new Date(Date.now() + response.ttlSec * 1000),
      contentType: response.contentType,
      contentDisposition: response.contentDisposition,
      cacheControl: response.cacheControl,
    });
  }

  async ping(signal: AbortSignal): Promise<void> {
    await this.container.getProperties({ abortSignal: signal });
  }
}
