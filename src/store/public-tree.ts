// The public tree on disk (PUBLIC_TREE): `<dir>/i/<url path>` hard-linked to the disk store's file, for nginx to serve.
import { chmod, chown, link, mkdir, readFile, rename, rm, rmdir, stat, unlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from 'pino';
import type { Catalog } from '../core/images/catalog.js';
import { servedPublicly, type PublicTree } from '../core/images/public-tree.js';
import type { ImageRecord } from '../core/images/image.js';

export interface PublicTreeOptions {
  /** The tree's folder; nginx's root (its URL paths start with /i/, as imgd's do). */
  readonly dir: string;
  /** STORE_GROUP: a group name or number; the tree and its files are that group's to read. */
  readonly group: string | undefined;
  /** IMAGE_URLS: `/i/<key>/<filename>` or `/i/<filename>`. */
  readonly shape: 'keyed' | 'name';
  /** The store's own file of an original (hard-linked, so on the same file system as the tree). */
  readonly blobPath: (sha256: string) => string;
  /** DATA_DIR: when the tree sits directly in it, nginx's group may pass through it (710), not list it. */
  readonly dataDir: string;
  readonly logger: Logger;
}

/**
 * Only what nginx sends with the right Content-Type from the extension (deploy/nginx's `types`) goes in the tree;
 * anything else (TIFF, HEIC, BMP, SVG, a name whose extension is not its format's) stays with imgd.
 */
const TYPE_OF_EXTENSION: Readonly<Record<string, string>> = {
  jpg: 'image/jpeg',
  jpeg: 'image/jpeg',
  png: 'image/png',
  gif: 'image/gif',
  webp: 'image/webp',
  avif: 'image/avif',
};

const SAFE_SEGMENT = /^[A-Za-z0-9_-][A-Za-z0-9._-]*$/;

function errorCode(err: unknown): string | undefined {
  return err instanceof Error && 'code' in err ? String(err.code) : undefined;
}

/** Runs a file operation that may find nothing to do: ENOENT (or ENOTEMPTY, for rmdir) is not a failure. */
async function ifThere(op: () => Promise<unknown>, alsoFine: readonly string[] = []): Promise<void> {
  try {
    await op();
  } catch (err) {
    const code = errorCode(err);
    if (code !== 'ENOENT' && !alsoFine.includes(code ?? '')) throw err;
  }
}

/** A group's number from its name (/etc/group) or the number itself. */
export async function groupId(group: string): Promise<number> {
  if (/^\d+$/.test(group)) return Number(group);
  const lines = (await readFile('/etc/group', 'utf8')).split('\n');
  for (const line of lines) {
    const [name, , gid] = line.split(':');
    if (name === group && gid !== undefined) return Number(gid);
  }
  throw new Error(`STORE_GROUP ${group}: no such group in /etc/group`);
}

/** Written once the tree holds every public image: from then on every change keeps it so (publishingChanges). */
const BUILT_MARK = '.imgd-public-tree';

export interface OpenedPublicTree extends PublicTree {
  /** Made from the catalog with `settle` (checkedSettle's), unless it was built already for this URL shape. */
  build(catalog: Pick<Catalog, 'listImages'>, settle: (image: ImageRecord) => Promise<void>): Promise<void>;
}

/**
 * With PUBLIC_TREE off, a tree left in the data dir by an earlier run is removed: no process keeps it in step with
 * the catalog any more, so it could serve an image made private since. (A PUBLIC_TREE_DIR elsewhere: the README.)
 */
export async function removeStaleTree(dataDir: string): Promise<boolean> {
  const dir = path.join(dataDir, 'public');
  try {
    await stat(path.join(dir, BUILT_MARK));
  } catch {
    return false;
  }
  await rm(dir, { recursive: true, force: true });
  return true;
}

export async function openPublicTree(options: PublicTreeOptions): Promise<OpenedPublicTree> {
  const { dir, logger } = options;
  const gid = options.group === undefined ? undefined : await groupId(options.group);
  const dirMode = gid === undefined ? 0o700 : 0o750;
  const fileMode = gid === undefined ? 0o600 : 0o640;
  const root = path.join(dir, 'i');

  /** A folder of the tree, readable by the group (750) when there is one. */
  async function ownFolder(folder: string): Promise<void> {
    await mkdir(folder, { recursive: true, mode: dirMode });
    await chmod(folder, dirMode);
    if (gid !== undefined) await chown(folder, -1, gid);
  }

  await ownFolder(dir);
  await ownFolder(root);
  // The group passes through the data dir to the tree, and lists nothing in it; everything else there stays 700/600.
  if (gid !== undefined && path.dirname(dir) === options.dataDir) {
    await chmod(options.dataDir, 0o710);
    await chown(options.dataDir, -1, gid);
  }

  /** The entry's path under the tree, or undefined when this image is never put there. */
  function entryOf(image: ImageRecord): string | undefined {
    const extension = image.filename.slice(image.filename.lastIndexOf('.') + 1).toLowerCase();
    if (TYPE_OF_EXTENSION[extension] !== image.contentType || !SAFE_SEGMENT.test(image.filename)) return undefined;
    if (options.shape === 'name') return path.join(root, image.filename);
    return SAFE_SEGMENT.test(image.urlKey) ? path.join(root, image.urlKey, image.filename) : undefined;
  }

  async function publish(image: ImageRecord, entry: string): Promise<void> {
    const blob = options.blobPath(image.sha256);
    // Already there (an edit, or processing done, of an image that stays public): nothing to link again.
    const [linked, stored] = await Promise.all([stat(entry).catch(() => undefined), stat(blob)]);
    if (linked && linked.ino === stored.ino && linked.dev === stored.dev) return;
    // The store's file itself (one inode, whatever its name): readable by the group only through the tree's folders.
    await chmod(blob, fileMode);
    if (gid !== undefined) await chown(blob, -1, gid);
    await ownFolder(path.dirname(entry));
    const staged = `${entry}.${process.pid}.tmp`;
    await ifThere(() => unlink(staged));
    await link(blob, staged);
    await rename(staged, entry);
  }

  async function withdraw(image: ImageRecord): Promise<void> {
    const entry = entryOf(image);
    if (!entry) return;
    try {
      await unlink(entry);
    } catch (err) {
      // Not in the tree (a private image edited, say): nothing else to undo.
      if (errorCode(err) === 'ENOENT') return;
      throw err;
    }
    if (options.shape === 'keyed') await ifThere(() => rmdir(path.dirname(entry)), ['ENOTEMPTY', 'EEXIST']);
    // No other public entry shares these bytes: the store's file is imgd's alone again.
    const blob = options.blobPath(image.sha256);
    await ifThere(async () => {
      if ((await stat(blob)).nlink === 1) await chmod(blob, 0o600);
    });
  }

  async function settle(image: ImageRecord): Promise<void> {
    const entry = entryOf(image);
    if (!entry || !servedPublicly(image)) return withdraw(image);
    try {
      await publish(image, entry);
    } catch (err) {
      // Not in the tree, the image is still served: the proxy falls back to imgd.
      logger.warn({ err: err instanceof Error ? err.message : String(err), image: image.id }, 'public tree: entry not made; imgd serves the image');
    }
  }

  async function build(catalog: Pick<Catalog, 'listImages'>, settleChecked: (image: ImageRecord) => Promise<void>): Promise<void> {
    const mark = path.join(dir, BUILT_MARK);
    const built = await readFile(mark, 'utf8').catch(() => undefined);
    if (built === options.shape) return;
    const startedAt = Date.now();
    await rm(root, { recursive: true, force: true });
    await ownFolder(root);
    let cursor: string | undefined;
    let published = 0;
    do {
      const page = await catalog.listImages({}, 500, cursor);
      for (const image of page.items) {
        if (!servedPublicly(image)) continue;
        await settleChecked(image);
        published += 1;
      }
      cursor = page.nextCursor ?? undefined;
    } while (cursor);
    await writeFile(mark, options.shape, { mode: 0o600 });
    logger.info({ published, ms: Date.now() - startedAt, dir }, 'public tree built');
  }

  return { settle, withdraw, build };
}
