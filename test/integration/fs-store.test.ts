// The local-disk blob store against the shared BlobStore contract, on a temporary directory.
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createFsStore } from '../../src/store/fs.js';
import { blobStoreContract } from '../helpers/blob-store-contract.js';

blobStoreContract('disk store', async () => {
  const root = await mkdtemp(path.join(os.tmpdir(), 'imgd-fs-store-'));
  return {
    store: createFsStore(root),
    cleanup: () => rm(root, { recursive: true, force: true }),
  };
});
