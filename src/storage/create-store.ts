// Picks the attachment store from the settings (config.ts: ATTACHMENT_STORE, else whichever of S3 and Azure is
// configured, else local disk) and makes the incoming/ directory every store's uploads are received into.
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import type { Config } from '../config.js';
import { LocalStore } from './local-store.js';
import type { ObjectStore } from './object-store.js';

export async function createObjectStore(
  settings: Config['attachments'],
): Promise<{ store: ObjectStore; incomingDir: string }> {
  const incomingDir = path.resolve(settings.dir, 'incoming');
  await mkdir(incomingDir, { recursive: true });
  // The cloud SDKs are loaded only when used: together they add tens of MB of heap to every process (and a full
  // GC walks all of it), which a local-store deployment would carry for nothing.
  if (settings.store === 's3') {
    const { S3Store } = await import('./s3-store.js');
    return { store: new S3Store(settings.s3), incomingDir };
  }
  if (settings.store === 'azure') {
    const { AzureStore } = await import('./azure-store.js');
    return { store: new AzureStore(settings.azure), incomingDir };
  }
  const local = new LocalStore(settings.dir);
  await local.start();
  return { store: local, incomingDir };
}
