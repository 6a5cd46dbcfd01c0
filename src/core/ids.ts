// Identifiers: ids of 16 characters of lowercase base32 (80 random bits, or time-ordered for internal records), URL keys
// of 16 base64url characters (96 bits).
import { randomFillSync, randomInt } from 'node:crypto';

const ALPHABET = '0123456789abcdefghjkmnpqrstvwxyz';
const ID_BYTES = 10;
/** Random bytes drawn in batches: one call into the CSPRNG for 400 ids rather than one per id (an upload makes five). */
const pool = Buffer.alloc(ID_BYTES * 400);
let used = pool.length;

export function newId(): string {
  if (used === pool.length) {
    randomFillSync(pool);
    used = 0;
  }
  let bits = 0;
  let value = 0;
  let out = '';
  for (let i = used; i < used + ID_BYTES; i += 1) {
    value = ((value << 8) | pool[i]!) & 0xffff;
    bits += 8;
    while (bits >= 5) {
      out += ALPHABET[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  used += ID_BYTES;
  return out;
}

const TIME_CHARS = 10;
const COUNTER_CHARS = 6;
const COUNTER_SPAN = 32 ** COUNTER_CHARS;
/** Starts at a random value in each process, so processes writing one database do not walk the same numbers. */
let counter = randomInt(COUNTER_SPAN);

function base32(value: number, chars: number): string {
  let out = '';
  for (let i = 0, rest = value; i < chars; i += 1, rest = Math.floor(rest / 32)) out = ALPHABET[rest % 32]! + out;
  return out;
}

/**
 * The id of a record only the service looks up by id (a job, an upload attempt, an audit entry, a processing run, a
 * webhook delivery): the same 16 characters, in time order: 10 for the milliseconds since 1970, 6 for a counter. New
 * rows then go to the end of their primary key's index instead of onto a random page of it, so a commit writes fewer
 * pages (replayed, an upload's statements cost SQLite about half with these four ids in order). Anything a person
 * could be given to guess at keeps newId.
 */
export function newRecordId(now: number = Date.now()): string {
  counter = (counter + 1) % COUNTER_SPAN;
  return base32(now, TIME_CHARS) + base32(counter, COUNTER_CHARS);
}

const KEY_BYTES = 12;
const keyPool = Buffer.alloc(KEY_BYTES * 256);
let keysUsed = keyPool.length;

/** The unguessable part of an image's URL (`/i/<key>/<filename>`): 12 random bytes, 16 base64url characters. */
export function newUrlKey(): string {
  if (keysUsed === keyPool.length) {
    randomFillSync(keyPool);
    keysUsed = 0;
  }
  const key = keyPool.toString('base64url', keysUsed, keysUsed + KEY_BYTES);
  // Each key's bytes are drawn once: the pool is overwritten before it is read again.
  keysUsed += KEY_BYTES;
  return key;
}

export const isUrlKey = (s: string): boolean => /^[A-Za-z0-9_-]{16}$/.test(s);
