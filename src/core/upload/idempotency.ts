// Idempotency-Key (IETF httpapi draft): a request retried with the same key, from the same principal, with the same
// content within a day gets the first answer again and creates nothing; other content is refused, and so is a retry
// while the first request still runs.
import { createHash } from 'node:crypto';
import { ImgdError } from '../errors.js';

/** The answer a first request got, kept to be sent again. */
export interface StoredAnswer {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
}

export interface IdempotencyRecord {
  readonly id: string;
  readonly fingerprint: string;
  readonly state: 'running' | 'done';
  readonly answer: StoredAnswer | null;
  readonly heldUntil: string;
  readonly expiresAt: string;
}

export interface IdempotencyRepo {
  get(id: string): Promise<IdempotencyRecord | undefined>;
  /** Takes the key for a request that starts now; false when a row holds it. */
  insert(id: string, createdAt: string, heldUntil: string, expiresAt: string): Promise<boolean>;
  /** Removes the row if it expired, or if it is running but held past heldUntil (its request died); true if it did. */
  dropStale(id: string, now: string): Promise<boolean>;
  finish(id: string, fingerprint: string, answer: StoredAnswer): Promise<void>;
  remove(id: string): Promise<void>;
  /** Removes every expired key (and abandoned running ones); answers how many. */
  removeExpired(now: string): Promise<number>;
}

/** A key taken by this request: record its answer, or give the key up when the request failed. */
export interface HeldKey {
  readonly state: 'new';
  finish(fingerprint: string, answer: StoredAnswer): Promise<void>;
  abandon(): Promise<void>;
}

/** A key whose first request is done: its answer, if this request is the same one. */
export interface AnsweredKey {
  readonly state: 'done';
  /** The stored answer when `fingerprint` matches the first request's; 422 otherwise. */
  replay(fingerprint: string): StoredAnswer;
}

export interface Idempotency {
  /** Takes or looks up `key` for a principal; 409 while the first request with it is still running. */
  open(principal: string, key: string): Promise<HeldKey | AnsweredKey>;
  removeExpired(): Promise<number>;
}

export interface IdempotencyOptions {
  /** How long a key and its answer are kept (the draft suggests a day). */
  readonly ttlSeconds: number;
  /** A running key older than this belongs to a request that died (a crash): the next request with it runs again. */
  readonly holdMs: number;
}

/** Printable ASCII, 1 to 255 characters; the draft's quoted form ("…") is taken without its quotes. */
export function parseIdempotencyKey(header: string | undefined): string | undefined {
  if (header === undefined) return undefined;
  const trimmed = header.trim();
  const key = /^"(.*)"$/.exec(trimmed)?.[1] ?? trimmed;
  if (key.length < 1 || key.length > 255 || !/^[\x20-\x7e]+$/.test(key)) {
    throw new ImgdError('validation_failed', 'Idempotency-Key must be 1 to 255 printable ASCII characters.', { field: 'Idempotency-Key' });
  }
  return key;
}

export function createIdempotency(repo: IdempotencyRepo, options: IdempotencyOptions): Idempotency {
  const inUse = (): ImgdError =>
    new ImgdError('idempotency_key_in_use', 'A request with this Idempotency-Key is still being answered; try again once it is done.');

  return {
    async open(principal, key) {
      const id = createHash('sha256').update(`${principal}\n${key}`).digest('hex');
      for (let tries = 0; tries < 3; tries += 1) {
        const now = Date.now();
        const iso = new Date(now).toISOString();
        if (await repo.insert(id, iso, new Date(now + options.holdMs).toISOString(), new Date(now + options.ttlSeconds * 1000).toISOString())) {
          return {
            state: 'new',
            finish: (fingerprint, answer) => repo.finish(id, fingerprint, answer),
            abandon: () => repo.remove(id),
          };
        }
        const record = await repo.get(id);
        if (!record) continue;
        if (record.expiresAt <= iso || (record.state === 'running' && record.heldUntil <= iso)) {
          await repo.dropStale(id, iso);
          continue;
        }
        if (record.state === 'running' || !record.answer) throw inUse();
        const answer = record.answer;
        return {
          state: 'done',
          replay(fingerprint) {
            if (fingerprint !== record.fingerprint) {
              throw new ImgdError('idempotency_key_reused', 'This Idempotency-Key was used for a different request; use a new key for new content.');
            }
            return answer;
          },
        };
      }
      throw inUse();
    },

    removeExpired: () => repo.removeExpired(new Date().toISOString()),
  };
}
