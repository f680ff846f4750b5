// Picks the attachment store from the settings (config.ts: ATTACHMENT_STORE, else whichever of S3 and Azure is
// configured, else local disk) and makes the incoming/ directory every store's uploads are received into.
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import type { Config } from '../config.js';
import { AzureStore } from './azure-store.js';
import { LocalStore } from './local-store.js';
import type { ObjectStore } from './object-store.js';
import { S3Store } from './s3-store.js';

export async function createObjectStore(settings: Config['attachments']): Promise<{ store: ObjectStore; incomingDir: string }> {
  const incomingDir = path.resolve(settings.dir, 'incoming');
  await mkdir(incomingDir, { recursive: true });
  if (settings.store === 's3') return { store: new S3Store(settings.s3), incomingDir };
  if (settings.store === 'azure') return { store: new AzureStore(settings.azure), incomingDir };
  const local = new LocalStore(settings.dir);
  await local.start();
  return { store: local, incomingDir };
}
