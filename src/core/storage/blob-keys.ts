// Blob keys: where in the store originals and staged resumable parts live.

/** Where the original bytes of a SHA-256 live: fanned out so no directory grows huge. */
export function originalKey(sha256: string): string {
  return `originals/${sha256.slice(0, 2)}/${sha256.slice(2, 4)}/${sha256}`;
}

export const ORIGINALS_PREFIX = 'originals/';

/** Where the parts of unfinished resumable uploads are staged: in the store, so any instance can continue one. */
export const RESUMABLE_PREFIX = 'staging/uploads/';

export function shaFromOriginalKey(key: string): string | undefined {
  const m = /^originals\/[0-9a-f]{2}\/[0-9a-f]{2}\/([0-9a-f]{64})$/.exec(key);
  return m?.[1];
}
