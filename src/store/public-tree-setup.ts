// PUBLIC_TREE in the composition: the listener that keeps the tree in step, the tree built once, or a stale one removed.
import type { Logger } from 'pino';
import type { Config } from '../config.js';
import type { Catalog } from '../core/images/catalog.js';
import type { ImageChangeListener } from '../core/images/image-changes.js';
import { checkedSettle, publishingChanges } from '../core/images/public-tree.js';
import { originalKey } from '../core/storage/blob-keys.js';
import { openPublicTree, removeStaleTree } from './public-tree.js';
import path from 'node:path';

type TreeConfig = Pick<Config, 'publicTree' | 'storage' | 'imageUrls' | 'dataDir'>;

/** With PUBLIC_TREE on (disk store only: config.ts refuses S3), the tree built and the listener that settles it on every change; none with it off. */
export async function publicTreeListeners(config: TreeConfig, catalog: Catalog, logger: Logger): Promise<ImageChangeListener[]> {
  const { publicTree, storage } = config;
  if (!publicTree.enabled || storage.kind !== 'fs') {
    if (await removeStaleTree(config.dataDir)) logger.warn({ dir: path.join(config.dataDir, 'public') }, 'PUBLIC_TREE is off: the public tree left by an earlier run was removed');
    return [];
  }
  const tree = await openPublicTree({
    dir: publicTree.dir,
    group: publicTree.group,
    shape: config.imageUrls,
    blobPath: (sha256) => path.join(storage.dir, originalKey(sha256)),
    dataDir: config.dataDir,
    logger: logger.child({ component: 'public-tree' }),
  });
  await tree.build(catalog, checkedSettle(catalog, tree));
  return [publishingChanges(catalog, tree)];
}
