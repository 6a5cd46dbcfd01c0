// Flushing files and directories to disk, for writes that must survive a crash.
import { open } from 'node:fs/promises';

export async function fsyncPath(p: string): Promise<void> {
  const handle = await open(p, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Per folder: the flush under way, and the one queued after it that every later caller shares. */
interface FolderFlush {
  running: Promise<void>;
  queued: Promise<void> | undefined;
}

const ignore = (): void => undefined;

/**
 * Flushes folders (the renames into them) with concurrent callers sharing one fsync: a caller that arrives while a
 * flush is under way cannot rely on it (its rename may have come after that flush began), so it waits for the next
 * one, which every caller arriving meanwhile shares.
 */
export function createFolderFlusher(): (folder: string) => Promise<void> {
  const flushes = new Map<string, FolderFlush>();
  const run = (folder: string): Promise<void> => {
    const running = fsyncPath(folder).finally(() => {
      const state = flushes.get(folder);
      if (state && state.running === running && state.queued === undefined) flushes.delete(folder);
    });
    const state = flushes.get(folder);
    if (state) state.running = running;
    else flushes.set(folder, { running, queued: undefined });
    return running;
  };
  return (folder) => {
    const state = flushes.get(folder);
    if (!state) return run(folder);
    state.queued ??= state.running.then(ignore, ignore).then(() => {
      state.queued = undefined;
      return run(folder);
    });
    return state.queued;
  };
}
