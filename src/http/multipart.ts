// Reads a multipart upload: each file part streams into the upload as it arrives; fields are collected.
import type { FastifyRequest } from 'fastify';
import { Busboy } from '@fastify/busboy';
import { ImgdError } from '../core/errors.js';
import type { UploadBatch } from '../core/upload/upload-api.js';
import { declaredOver, FORM_BYTES, meterForm, type FormLimits } from './form-meter.js';

const MAX_FIELD_BYTES = 16 * 1024;
const FILE_FIELD = 'file';

/** A client's file name, reduced to its last path segment; never used as a path. */
export function clientFileName(name: string | undefined): string | null {
  if (!name) return null;
  const last = [...(name.split(/[\\/]/).pop() ?? '')]
    .filter((ch) => ch.charCodeAt(0) > 0x1f && ch.charCodeAt(0) !== 0x7f)
    .join('')
    .trim();
  return last ? last.slice(0, 255) : null;
}

/**
 * Feeds every file part to the batch and returns the form fields; a body that cannot be read aborts the batch. The
 * first refusal (a file over the limit, a bad part, a bound of the form) ends the reading at once: the answer goes out
 * while the rest of the body is left unread, and the connection closes (see unread-body.ts).
 */
export async function readMultipart(request: FastifyRequest, batch: UploadBatch, maxFiles: number): Promise<Record<string, string>> {
  const limits: FormLimits = { bodyBytes: maxFiles * batch.limit + FORM_BYTES, code: 'body_too_large' };
  const declared = declaredOver(request, limits);
  if (declared) throw await batch.abort(declared);
  let parser;
  try {
    parser = Busboy({
      headers: request.headers as Parameters<typeof Busboy>[0]['headers'],
      limits: { files: maxFiles, fields: 10, fieldSize: MAX_FIELD_BYTES, fieldNameSize: 100, parts: maxFiles + 10, headerPairs: 50 },
    });
  } catch (err) {
    const message = (err as Error).message;
    const code = /boundary/i.test(message) ? 'missing_boundary' : 'malformed_multipart';
    throw await batch.abort(new ImgdError(code, `The multipart body cannot be read: ${message}.`));
  }

  // No prototype: a part named __proto__ or constructor is a field like any other (and refused as unknown).
  const fields = Object.create(null) as Record<string, string>;
  const pending: Promise<void>[] = [];
  const open = new Set<NodeJS.ReadableStream & { destroy(err?: Error): void }>();
  let failure: { error: ImgdError; name: string | null } | undefined;
  let finished!: () => void;
  const done = new Promise<void>((resolve) => {
    finished = resolve;
  });
  /** The request is refused: the file streams still open end (so their staging stops), and reading stops. */
  const fail = (error: ImgdError, name: string | null = null): void => {
    failure ??= { error, name };
    for (const stream of open) stream.destroy(new Error('upload aborted'));
    finished();
  };

  parser.on('file', (fieldName, stream, filename) => {
    const name = clientFileName(filename);
    if (failure) return;
    if (fieldName !== FILE_FIELD) {
      fail(new ImgdError('unknown_field', `Unknown file field ${JSON.stringify(fieldName)}; files go in "${FILE_FIELD}".`, { fields: [fieldName] }), name);
      return;
    }
    open.add(stream);
    meter.fileStarted(stream);
    stream.once('end', () => open.delete(stream));
    // fail() may end the stream before stage() has piped it anywhere: the staging then fails, not the process.
    stream.on('error', () => undefined);
    pending.push(
      batch.receive(stream, name).then(
        () => undefined,
        (err: unknown) => fail(err instanceof ImgdError ? err : new ImgdError('malformed_multipart', `The upload was cut short: ${(err as Error).message}`), name),
      ),
    );
  });
  parser.on('field', (name, value, _nameTruncated, valueTruncated) => {
    if (!name) return fail(new ImgdError('malformed_multipart', 'A form part has no name.'));
    if (valueTruncated) fail(new ImgdError('validation_failed', `Field ${JSON.stringify(name)} is longer than ${MAX_FIELD_BYTES} bytes.`, { field: name }));
    else if (name in fields) fail(new ImgdError('validation_failed', `Field ${JSON.stringify(name)} is given twice.`, { field: name }));
    else fields[name] = value;
  });
  parser.on('filesLimit', () => fail(new ImgdError('too_many_files', `At most ${maxFiles} files may be sent at once.`, { limit: maxFiles })));
  parser.on('partsLimit', () => fail(new ImgdError('too_many_files', 'The form has too many parts.')));
  parser.on('fieldsLimit', () => fail(new ImgdError('validation_failed', 'The form has too many fields.')));
  parser.on('error', (err: unknown) => fail(new ImgdError('malformed_multipart', `The multipart body cannot be read: ${(err as Error).message}.`)));
  parser.on('finish', () => finished());
  request.raw.on('aborted', () => fail(new ImgdError('malformed_multipart', 'The client went away before the upload ended.')));

  request.raw.pipe(parser);
  // After the pipe: busboy has seen a chunk (and announced its file part) before the meter counts it.
  const meter = meterForm(request, limits, (error) => fail(error));
  await done;
  meter.stop();
  if (failure) {
    request.raw.unpipe(parser);
    request.raw.pause();
  }
  await Promise.allSettled(pending);
  if (failure) throw await batch.abort(failure.error, failure.name);
  return fields;
}
