// The local-disk blob store: temp file, fsync, rename, fsync of the directory; reads as streams.
import { access, constants, copyFile, link, mkdir, open, opendir, readFile, rename, stat, unlink } from 'node:fs/promises';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { ImgdError } from '../core/errors.js';
import type { BlobInfo, BlobStore, ByteRange } from '../core/storage/blob-store.js';
import { createFolderFlusher, fsyncPath } from '../lib/fsync.js';
import { OpenFiles, openFileBudget } from './open-files.js';

const VALID_KEY = /^[a-z0-9][a-z0-9_.-]*(\/[a-z0-9_.-]+)*$/i;

const isCode = (err: unknown, code: string): boolean => (err as NodeJS.ErrnoException | null)?.code === code;

/** No blob there: nothing at the path, or a path that runs through a blob as if it were a folder. */
const isAbsent = (err: unknown): boolean => isCode(err, 'ENOENT') || isCode(err, 'ENOTDIR');

/** `openFiles`: how many blob files may stay open for reads (0: none). */
export function createFsStore(root: string, openFiles = openFileBudget()): BlobStore & { readonly tmpDir: string } {
  const tmpDir = path.join(root, '.tmp');
  // A blob read whole (hot enough to serve, too many for the memory cache) is one read on a file kept open.
  const handles = new OpenFiles(openFiles);

  const resolve = (key: string): string => {
    if (!VALID_KEY.test(key) || key.split('/').some((part) => part === '.' || part === '..')) {
      throw new Error(`invalid blob key ${JSON.stringify(key)}`);
    }
    return path.join(root, key);
  };

  /**
   * Runs a step that needs a folder to exist, making the folder only when the step finds it missing: most writes
   * land in folders that exist already, and a mkdir per write is a thread-pool round trip (two system calls) for nothing.
   */
  async function inFolder<T>(folder: string, step: () => Promise<T>): Promise<T> {
    try {
      return await step();
    } catch (err) {
      if (!isCode(err, 'ENOENT')) throw err;
      await mkdir(folder, { recursive: true, mode: 0o700 });
      return step();
    }
  }

  // Uploads landing in one folder at the same time share the fsync that makes their renames durable.
  const flushFolder = createFolderFlusher();

  async function publish(tmp: string, target: string): Promise<void> {
    await inFolder(path.dirname(target), () => rename(tmp, target));
    await flushFolder(path.dirname(target));
  }

  const tmpName = (): string => path.join(tmpDir, randomUUID());

  return {
    tmpDir,

    async putFile(key, localPath) {
      const target = resolve(key);
      const tmp = tmpName();
      try {
        await inFolder(tmpDir, () => link(localPath, tmp));
      } catch (err) {
        if (!isCode(err, 'EXDEV') && !isCode(err, 'EPERM')) throw err;
        await copyFile(localPath, tmp);
        await fsyncPath(tmp);
      }
      try {
        await publish(tmp, target);
      } catch (err) {
        await unlink(tmp).catch(() => undefined);
        throw err;
      }
    },

    async put(key, body: Readable) {
      const target = resolve(key);
      const tmp = tmpName();
      let handle;
      try {
        handle = await inFolder(tmpDir, () => open(tmp, 'wx', 0o600));
      } catch (err) {
        body.destroy();
        throw err;
      }
      try {
        await pipeline(body, handle.createWriteStream());
        await fsyncPath(tmp);
        await publish(tmp, target);
      } catch (err) {
        await unlink(tmp).catch(() => undefined);
        throw err;
      }
    },

    async putBytes(key, bytes) {
      const target = resolve(key);
      const tmp = tmpName();
      const handle = await inFolder(tmpDir, () => open(tmp, 'wx', 0o600));
      try {
        try {
          await handle.writeFile(bytes);
          await handle.sync();
        } finally {
          await handle.close();
        }
        await publish(tmp, target);
      } catch (err) {
        await unlink(tmp).catch(() => undefined);
        throw err;
      }
    },

    async get(key, range?: ByteRange) {
      const notFound = new ImgdError('not_found', `No blob ${key}.`);
      let handle;
      try {
        handle = await open(resolve(key), 'r');
      } catch (err) {
        throw isAbsent(err) ? notFound : err;
      }
      try {
        // A directory opens fine on Linux, but it is a folder of blobs, not one.
        if (!(await handle.stat()).isFile()) throw notFound;
      } catch (err) {
        await handle.close();
        throw err;
      }
      return handle.createReadStream(range ? { start: range.start, end: range.end } : {});
    },

    async read(key, size) {
      try {
        if (size !== undefined && size > 0) {
          const bytes = await handles.read(resolve(key), size);
          if (bytes) return bytes;
        }
        return await readFile(resolve(key));
      } catch (err) {
        // EISDIR: a folder of blobs, not one.
        if (isAbsent(err) || isCode(err, 'EISDIR')) throw new ImgdError('not_found', `No blob ${key}.`);
        throw err;
      }
    },

    localPath: (key) => resolve(key),

    async stat(key) {
      try {
        const s = await stat(resolve(key));
        return s.isFile() ? { key, size: s.size, modifiedAt: s.mtime } : undefined;
      } catch (err) {
        if (isAbsent(err)) return undefined;
        throw err;
      }
    },

    async exists(key) {
      return (await this.stat(key)) !== undefined;
    },

    async delete(key) {
      handles.forget(resolve(key));
      try {
        await unlink(resolve(key));
      } catch (err) {
        if (!isAbsent(err) && !isCode(err, 'EISDIR')) throw err;
      }
    },

    async *list(prefix) {
      const start = path.join(root, prefix);
      async function* walk(dir: string): AsyncGenerator<BlobInfo> {
        let handle;
        try {
          handle = await opendir(dir);
        } catch (err) {
          if (isAbsent(err)) return;
          throw err;
        }
        for await (const entry of handle) {
          const full = path.join(dir, entry.name);
          if (full === tmpDir) continue; // unfinished writes are not blobs
          if (entry.isDirectory()) yield* walk(full);
          else if (entry.isFile()) {
            const s = await stat(full).catch(() => undefined);
            if (s) yield { key: path.relative(root, full).split(path.sep).join('/'), size: s.size, modifiedAt: s.mtime };
          }
        }
      }
      yield* walk(start);
    },

    async check() {
      await mkdir(root, { recursive: true, mode: 0o700 });
      await access(root, constants.R_OK | constants.W_OK);
    },
  };
}
