// One file from a profile's multipart form through the core's upload use case: the seed's own checks first, then the core's.
import { Readable } from 'node:stream';
import type { FastifyRequest } from 'fastify';
import { ImgdError } from '../../core/errors.js';
import type { Actor } from '../../core/access/actor.js';
import type { ImageRecord } from '../../core/images/image.js';
import type { UploadRequest, Uploads } from '../../core/upload/upload-api.js';
import { readForm, type FormFile } from './form.js';

export interface SeedChecks {
  /** On the part's headers, before any byte is read: an error refuses the file (recorded as a failed attempt). */
  readonly part?: (file: FormFile) => ImgdError | undefined;
  /** How many first bytes `head` wants to see. */
  readonly headBytes?: number;
  /** On the first bytes (fewer when the file is shorter): an error refuses the file. */
  readonly head?: (head: Buffer, file: FormFile) => ImgdError | undefined;
  /** A form without the file part is a refused attempt too (recorded); imgapi's seed did not count it. */
  readonly recordMissing?: boolean;
}

export type UploadOutcome =
  /** No part named `file` arrived (or the body was not multipart): recorded only with `recordMissing`. */
  | { readonly kind: 'no_file'; readonly fields: Readonly<Record<string, string>> }
  | { readonly kind: 'refused'; readonly error: ImgdError; readonly file: FormFile; readonly fields: Readonly<Record<string, string>> }
  | { readonly kind: 'stored'; readonly image: ImageRecord; readonly file: FormFile; readonly fields: Readonly<Record<string, string>> };

/**
 * Who uploads through a profile without credentials (imgapi, s3_upload): an open upload grant that the operator gave
 * by turning the profile on, ownerless, into `key` when given. No token stands behind it (nothing to spend, no token
 * id), and the audit log names it `anonymous:<profile>`, which no credential resolves to.
 */
export function profileGrant(profile: string, key: string | null = null): Actor {
  return { kind: 'upload_token', grant: { tokenId: null, profile, ownerId: null, key, maxBytes: null, singleUse: false } };
}

/**
 * A refusal of this upload, which the profile answers in its seed's words; not the server's state (no space left, a
 * dependency away), which goes to the profile's error handler: 507 or 503 with Retry-After, as on the native API.
 */
const refusedFile = (err: unknown): err is ImgdError => err instanceof ImgdError && err.code !== 'insufficient_storage' && err.code !== 'unavailable';

/** The first `size` bytes of a stream, and a stream that still yields every byte. */
async function peek(stream: Readable, size: number): Promise<{ head: Buffer; rest: Readable }> {
  const chunks: Buffer[] = [];
  let got = 0;
  while (got < size) {
    const chunk = stream.read() as Buffer | null;
    if (chunk !== null) {
      chunks.push(chunk);
      got += chunk.length;
      continue;
    }
    if (stream.readableEnded || stream.destroyed) break;
    await new Promise<void>((resolve) => {
      const settle = (): void => {
        stream.off('readable', settle).off('end', settle).off('error', settle).off('close', settle);
        resolve();
      };
      stream.on('readable', settle).on('end', settle).on('error', settle).on('close', settle);
    });
  }
  const head = Buffer.concat(chunks);
  if (stream.readableEnded || stream.destroyed) return { head, rest: Readable.from(head.length > 0 ? [head] : []) };
  if (head.length > 0) stream.unshift(head);
  return { head, rest: stream };
}

/**
 * Reads the form, runs the seed's checks on its `file` part, and streams it into the core. The core records every
 * attempt (refusals included) and enforces `request.maxBytes` while the bytes arrive; a file over it ends the
 * request at once (`refused` with file_too_large, the rest of the body unread). `fieldsFor` picks the form fields
 * the core gets (description, key...).
 */
export async function uploadOne(
  uploads: Uploads,
  httpRequest: FastifyRequest,
  request: UploadRequest,
  checks: SeedChecks,
  fieldsFor: (fields: Readonly<Record<string, string>>) => Record<string, string> = () => ({}),
): Promise<UploadOutcome> {
  let file: FormFile | undefined;
  let refusal: ImgdError | undefined;
  let received = false;
  let batch: Awaited<ReturnType<Uploads['begin']>> | undefined;
  let form;
  try {
    form = await readForm(httpRequest, 'file', request.maxBytes ?? Infinity, async (part) => {
      file = part;
      const name = part.filename ?? null;
      const early = checks.part?.(part);
      if (early) {
        part.stream.resume();
        refusal = await uploads.refuse(request, early, name);
        return;
      }
      let source: Readable = part.stream;
      if (checks.head) {
        const { head, rest } = await peek(part.stream, checks.headBytes ?? 16);
        const wrong = checks.head(head, part);
        if (wrong) {
          rest.resume();
          refusal = await uploads.refuse(request, wrong, name);
          return;
        }
        source = rest;
      }
      batch = await uploads.begin(request);
      try {
        await batch.receive(source, name);
        received = true;
      } catch (err) {
        const error = err instanceof ImgdError ? err : new ImgdError('internal', 'The upload could not be stored.');
        refusal = await batch.abort(error, name);
        // Over the limit (or the client gone): stop reading here and answer now.
        throw refusal;
      }
    });
  } catch (err) {
    if (refusedFile(err) && file) return { kind: 'refused', error: err, file, fields: {} };
    throw err;
  }
  if (!file) {
    if (checks.recordMissing) await uploads.refuse(request, new ImgdError('missing_file', 'The form has no "file" part.'));
    return { kind: 'no_file', fields: form.fields };
  }
  if (refusal) return { kind: 'refused', error: refusal, file, fields: form.fields };
  if (!batch || !received) {
    const error = new ImgdError('malformed_multipart', 'The upload was cut short.');
    return { kind: 'refused', error: batch ? await batch.abort(error, file.filename ?? null) : await uploads.refuse(request, error, file.filename ?? null), file, fields: form.fields };
  }
  let result;
  try {
    result = await batch.finish(fieldsFor(form.fields));
  } catch (err) {
    // Fields the core refuses (a description too long...): recorded by the core, answered by the profile.
    if (refusedFile(err)) return { kind: 'refused', error: err, file, fields: form.fields };
    throw err;
  }
  const image = result.items[0];
  if (image) return { kind: 'stored', image, file, fields: form.fields };
  const failed = result.errors[0]?.error ?? new ImgdError('internal', 'The upload could not be stored.');
  return { kind: 'refused', error: failed, file, fields: form.fields };
}
