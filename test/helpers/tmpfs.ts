// A small tmpfs mounted over a folder, for tests that fill a disk for real; where mounting is not allowed they are skipped (never with CI=true).
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, open, rmdir, unlink } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface Tmpfs {
  readonly dir: string;
  /** Writes a file until the file system is full, to the last byte. */
  fill(): Promise<void>;
  /** Removes what fill() wrote. */
  free(): Promise<void>;
  unmount(): Promise<void>;
}

/** Mounts a tmpfs of `size` (`2m`) over dir, made if missing. */
export async function mountTmpfs(dir: string, size: string): Promise<Tmpfs> {
  await mkdir(dir, { recursive: true });
  await run('mount', ['-t', 'tmpfs', '-o', `size=${size},mode=0700`, 'tmpfs', dir]);
  const filler = path.join(dir, 'filler');
  return {
    dir,
    async fill() {
      const file = await open(filler, 'a');
      try {
        // Large blocks first, then small ones for what is left between them.
        for (const size of [64 * 1024, 512]) {
          const block = Buffer.alloc(size);
          try {
            for (;;) await file.write(block);
          } catch (err) {
            if ((err as NodeJS.ErrnoException).code !== 'ENOSPC') throw err;
          }
        }
      } finally {
        await file.close();
      }
    },
    async free() {
      await unlink(filler).catch(() => undefined);
    },
    async unmount() {
      await run('umount', [dir]);
    },
  };
}

/**
 * Why tmpfs tests cannot run here (mounting needs root or CAP_SYS_ADMIN), or false when they can. With CI=true
 * always false: the tests run and fail there rather than pass unseen.
 */
export async function tmpfsUnavailable(): Promise<string | false> {
  if (process.env.CI === 'true') return false;
  const probe = await mkdtemp(path.join(os.tmpdir(), 'imgd-tmpfs-probe-'));
  try {
    const tmpfs = await mountTmpfs(probe, '64k');
    await tmpfs.unmount();
    return false;
  } catch (err) {
    return `mounting a tmpfs is not allowed here (${(err as Error).message.split('\n')[0]}): run as root, as CI does`;
  } finally {
    await rmdir(probe).catch(() => undefined);
  }
}
