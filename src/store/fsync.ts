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
