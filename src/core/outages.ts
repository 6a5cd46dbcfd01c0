// Which failures mean a service imgd depends on is away (the database, Redis, the image store), not a fault of the request or the image.
import { isImgdError } from './errors.js';

/** Node's socket errors: nothing answers at the address, or the connection to it broke. */
const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ECONNABORTED', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH']);

/**
 * PostgreSQL's SQLSTATEs for a server that is going away, starting, or out of connections (57P01 administrator
 * command, as with pg_terminate_backend; 57P02 crash; 57P03 cannot connect now; 57P05 idle session timeout; 53300 too
 * many connections), plus class 08, connection exceptions. SQLite's SQLITE_BUSY: the database stayed locked past
 * busy_timeout.
 */
const DATABASE_CODES = new Set(['57P01', '57P02', '57P03', '57P05', '53300', 'SQLITE_BUSY']);
const CONNECTION_EXCEPTION = /^08[0-9A-Z]{3}$/;

/** The drivers' own words for a lost connection, where they give no code: pg's, then ioredis's. */
const LOST_CONNECTION = [
  /^Connection terminated/,
  /is not queryable$/,
  /^timeout exceeded when trying to connect$/,
  /^Connection is closed\.?$/,
  /^Stream isn't writeable/,
  /^Reached the max retries per request limit/,
  /^Command timed out$/,
];

/** True when err (or an error it wraps) says a dependency is unreachable: answer 503 and try again later. */
export function isOutage(err: unknown): boolean {
  let current = err;
  for (let depth = 0; depth < 5 && current instanceof Error; depth += 1) {
    if (isImgdError(current)) return current.code === 'unavailable';
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string' && (NETWORK_CODES.has(code) || DATABASE_CODES.has(code) || CONNECTION_EXCEPTION.test(code))) return true;
    const message = current.message;
    if (LOST_CONNECTION.some((words) => words.test(message))) return true;
    current = current.cause;
  }
  return false;
}

/** Out of space: the disk, a quota, SQLite's file, PostgreSQL's disk (53100 disk_full), or imgd's own word for it. */
const DISK_FULL_CODES = new Set(['ENOSPC', 'EDQUOT', 'SQLITE_FULL', '53100']);

/** A disk (or quota) that is full, for err or an error it wraps: not the image's fault either, and it passes once space is made. */
export function isDiskFull(err: unknown): boolean {
  let current = err;
  for (let depth = 0; depth < 5 && current instanceof Error; depth += 1) {
    if (isImgdError(current)) return current.code === 'insufficient_storage';
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string' && DISK_FULL_CODES.has(code)) return true;
    current = current.cause;
  }
  return false;
}
