// The configured blob store; the AWS SDK is loaded only when S3 is configured (it takes a while to load).
import type { Config } from '../config.js';
import type { BlobStore } from '../core/storage/blob-store.js';
import { createFsStore } from './fs.js';

/** The store, and the folder its unfinished writes are staged in (the disk store's; gc clears it). */
export async function openStore(storage: Config['storage']): Promise<{ store: BlobStore; storeTmpDir: string | undefined }> {
  if (storage.kind === 'fs') {
    const fsStore = createFsStore(storage.dir);
    return { store: fsStore, storeTmpDir: fsStore.tmpDir };
  }
  const { kind: _kind, ...options } = storage;
  const { createS3Store } = await import('./s3.js');
  return { store: createS3Store(options), storeTmpDir: undefined };
}
