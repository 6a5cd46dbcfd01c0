// The first bytes of a staged upload, read once and shared by the checks that look at it.
import { open } from 'node:fs/promises';

/** JPEG metadata precedes the image data: a head this size holds all of it in practice, and most uploads whole. */
export const HEAD_BYTES = 512 * 1024;

export interface FileHead {
  readonly bytes: Buffer;
  /** True when the bytes are the whole file. */
  readonly whole: boolean;
}

export async function readHead(file: string): Promise<FileHead> {
  const handle = await open(file, 'r');
  try {
    // Not zero-filled: only the bytes read are ever looked at.
    const head = Buffer.allocUnsafe(HEAD_BYTES);
    const { bytesRead } = await handle.read(head, 0, HEAD_BYTES, 0);
    return { bytes: head.subarray(0, bytesRead), whole: bytesRead < HEAD_BYTES };
  } finally {
    await handle.close();
  }
}
