// Identifiers: ids of 16 characters of lowercase base32 (80 random bits, or time-ordered for internal records), URL keys
// of 16 base64url characters (96 bits).
import { randomFillSync, randomInt } from 'node:crypto';

const ALPHABET = '0123456789abcdefghjkmnpqrstvwxyz';
const ID_BYTES = 10;
const KEY_BYTES = 12;
/** Random bytes drawn in batches: one call into the CSPRNG for some 400 ids and keys rather than one for each. */
const pool = Buffer.alloc(4096);
let used = pool.length;

/** Where `bytes` fresh random bytes start in the pool; each byte is handed out once before the pool is refilled. */
function drawRandom(bytes: number): number {
  if (used + bytes > pool.length) {
    randomFillSync(pool);
    used = 0;
  }
  const at = used;
  used += bytes;
  return at;
}

export function newId(): string {
  const at = drawRandom(ID_BYTES);
  let bits = 0;
  let value = 0;
  let out = '';
  for (let i = at; i < at + ID_BYTES; i += 1) {
    value = ((value << 8) | pool[i]!) & 0xffff;
    bits += 8;
    while (bits >= 5) {
      out += ALPHABET[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
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
 * pages. Anything a person could be given to guess at keeps newId.
 */
export function newRecordId(now: number = Date.now()): string {
  counter = (counter + 1) % COUNTER_SPAN;
  return base32(now, TIME_CHARS) + base32(counter, COUNTER_CHARS);
}

/** The unguessable part of an image's URL (`/i/<key>/<filename>`): 12 random bytes, 16 base64url characters. */
export function newUrlKey(): string {
  const at = drawRandom(KEY_BYTES);
  return pool.toString('base64url', at, at + KEY_BYTES);
}

export const isUrlKey = (s: string): boolean => /^[A-Za-z0-9_-]{16}$/.test(s);
