// The upload use case: what happens when images come in, whatever the entry point (multipart, raw PUT, CLI import,
// compatibility profiles, resumable uploads). Receive in one streaming pass, check, name, store the bytes durably,
// then one transaction for the image, its blob reference, its jobs, the attempt record and the audit entry. What it
// takes and gives: upload-api.ts; the checks: check.ts; the commit: commit.ts.
import { mkdir, unlink } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { finished } from 'node:stream/promises';
import { canUpload, uploadTerms } from '../access/policy.js';
import { ImgdError } from '../errors.js';
import type { ImageRecord } from '../images/image.js';
import { isDiskFull } from '../outages.js';
import { noSpaceLeft } from '../storage/disk-space.js';
import { attemptRecord } from './attempts.js';
import { AlreadyStored, createCommitter } from './commit.js';
import { parseUploadFields } from './fields.js';
import type { UploadRequest, Uploads, UploadsDeps } from './upload-api.js';
import { UploadReceiver } from './upload-receiver.js';
import { MemoryBudget, type Received } from './received.js';

const cutShort = (err: unknown): ImgdError =>
  err instanceof ImgdError ? err : new ImgdError('malformed_multipart', `The upload was cut short: ${(err as Error).message}`);

/** err, or when it says no space was left to write (not the upload's fault), the 507 that asks the client to try again later. */
const asNoSpaceLeft = (err: unknown, onDiskFull: () => void): unknown => {
  if (!isDiskFull(err) || (err instanceof ImgdError && err.code === 'insufficient_storage')) return err;
  onDiskFull();
  return noSpaceLeft(err);
};

export function createUploads(deps: UploadsDeps): Uploads {
  const { catalog, limits } = deps;
  const budget = new MemoryBudget(deps.memoryBudget);
  let staging: Promise<unknown> | undefined;
  const commitOne = createCommitter(deps);

  async function recordFailure(request: UploadRequest, originalName: string | null, error: ImgdError, startedAt: number, bytes: number | null): Promise<void> {
    const attempt = attemptRecord(null, originalName, startedAt, bytes, error);
    try {
      await catalog.recordAttempt(attempt);
    } catch (err) {
      // On a full disk the refusal is answered all the same; only its row (for /api/v1/stats) is not written.
      if (!isDiskFull(err)) throw err;
      deps.onDiskFull();
    }
    request.onAttempt?.(attempt);
    deps.onAttempt('failed', error.code, bytes ?? 0);
  }

  async function discard(received: Received): Promise<void> {
    received.release();
    if (received.stagedPath) await unlink(received.stagedPath).catch(() => undefined);
  }

  return {
    async refuse(request, error, originalName = null) {
      await recordFailure(request, originalName, error, performance.now(), null);
      return error;
    },

    async begin(request) {
      canUpload(request.actor);
      const giveBack = await deps.spendGrant(request.actor);
      const grantLimit = request.actor.kind === 'upload_token' ? request.actor.grant.maxBytes : null;
      const limit = Math.min(limits.fileSize, request.maxBytes ?? Infinity, grantLimit ?? Infinity);
      const received: Received[] = [];
      let files = 0;
      const startedAt = performance.now();
      let closed = false;
      staging ??= mkdir(deps.stagingDir, { recursive: true });
      await staging;

      const dropAll = async (): Promise<void> => {
        closed = true;
        await Promise.all(received.map(discard));
      };

      return {
        limit,

        async receive(source, originalName) {
          // Files may finish in any order; the answer lists them in the order they were sent.
          const slot = files;
          files += 1;
          const receiver = new UploadReceiver(originalName, { limit, allowed: deps.allowedFormats, probeLimits: limits, stagingDir: deps.stagingDir, budget });
          try {
            await pipeInto(source, receiver);
          } catch (err) {
            throw cutShort(asNoSpaceLeft(err, deps.onDiskFull));
          }
          const result = receiver.result();
          if (closed) await discard(result);
          else received[slot] = result;
        },

        async finish(rawFields) {
          const all = received.filter((r) => r !== undefined);
          let terms;
          try {
            if (all.length === 0) throw new ImgdError('missing_file', 'The form has no "file" part.');
            terms = uploadTerms(request.actor, parseUploadFields(rawFields, { visibility: request.defaults?.visibility ?? 'public' }, { verbatimDescription: request.verbatimDescription }));
          } catch (err) {
            await dropAll();
            await giveBack();
            if (err instanceof ImgdError) await recordFailure(request, all[0]?.originalName ?? null, err, all[0]?.startedAt ?? startedAt, all[0]?.bytes ?? null);
            throw err;
          }
          closed = true;
          const outcomes = await Promise.allSettled(all.map((file) => commitOne(file, request, terms)));
          const items: ImageRecord[] = [];
          const errors: Array<{ originalName: string | null; error: ImgdError }> = [];
          const alreadyStored: Array<{ originalName: string | null; sha256: string }> = [];
          // Every staged file goes, whatever the outcomes: a fault below must not leave the others behind.
          await Promise.all(all.map(discard));
          let fault: unknown;
          for (const [i, outcome] of outcomes.entries()) {
            const file = all[i]!;
            if (outcome.status === 'fulfilled') {
              items.push(outcome.value);
              continue;
            }
            if (outcome.reason instanceof AlreadyStored) {
              alreadyStored.push({ originalName: file.originalName, sha256: outcome.reason.sha256 });
              continue;
            }
            const reason = asNoSpaceLeft(outcome.reason, deps.onDiskFull);
            const error = reason instanceof ImgdError ? reason : new ImgdError('internal', 'The upload could not be stored.');
            await recordFailure(request, file.originalName, error, file.startedAt, file.bytes);
            // No space is the server's state, not the file's: the request fails as a whole, as with an outage.
            if (reason instanceof ImgdError && reason.code !== 'insufficient_storage') errors.push({ originalName: file.originalName, error });
            else fault ??= reason;
          }
          if (items.length === 0) await giveBack();
          if (fault !== undefined) throw fault;
          return { items, errors, ...(request.skipStoredBytes ? { alreadyStored } : {}) };
        },

        async abort(error, originalName = null) {
          await dropAll();
          await giveBack();
          await recordFailure(request, originalName, error, startedAt, null);
          return error;
        },
      };
    },
  };
}

/**
 * source.pipe(receiver) until the receiver has everything. Not stream.pipeline: it allocates an AbortController per
 * call and aborts it on success, building a DOMException with a stack trace for every upload.
 */
async function pipeInto(source: Readable, receiver: UploadReceiver): Promise<void> {
  const fail = (err?: Error): void => {
    receiver.destroy(err ?? new Error('the upload ended before its last byte'));
  };
  // A source that closes without its end (the client went away, the multipart parser gave up) ends the upload.
  const closed = (): void => {
    if (!source.readableEnded) fail();
  };
  source.once('error', fail);
  source.once('aborted', fail);
  source.once('close', closed);
  // Already ended by a reader that gave up on the body (its events are past): the upload fails now, not never.
  if (source.destroyed && !source.readableEnded) fail((source.errored as Error | null) ?? undefined);
  source.pipe(receiver);
  try {
    await finished(receiver);
  } finally {
    source.off('error', fail);
    source.off('aborted', fail);
    source.off('close', closed);
    source.unpipe(receiver);
  }
}
