// Reads a multipart upload: each file part streams into the upload as it arrives; fields are collected.
import type { FastifyRequest } from 'fastify';
import { Busboy } from '@fastify/busboy';
import { ImgdError } from '../core/errors.js';
import type { UploadBatch } from '../core/uploads.js';

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

/** Feeds every file part to the batch and returns the form fields; a body that cannot be read aborts the batch. */
export async function readMultipart(request: FastifyRequest, batch: UploadBatch, maxFiles: number): Promise<Record<string, string>> {
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
  /** A body that cannot go on ends the file streams still open, so their staging stops. */
  const abortOpen = (): void => {
    for (const stream of open) stream.destroy(new Error('upload aborted'));
  };
  let failure: { error: ImgdError; name: string | null } | undefined;
  let stopped = false;
  const fail = (error: ImgdError, name: string | null = null): void => {
    failure ??= { error, name };
  };

  const done = new Promise<void>((resolve) => {
    parser.on('file', (fieldName, stream, filename) => {
      const name = clientFileName(filename);
      if (failure) {
        stream.resume();
        return;
      }
      if (fieldName !== FILE_FIELD) {
        fail(new ImgdError('unknown_field', `Unknown file field ${JSON.stringify(fieldName)}; files go in "${FILE_FIELD}".`, { fields: [fieldName] }), name);
        stream.resume();
        return;
      }
      open.add(stream);
      stream.once('end', () => open.delete(stream));
      // abortOpen() may end the stream before stage() has piped it anywhere: the staging then fails, not the process.
      stream.on('error', () => undefined);
      pending.push(
        batch.receive(stream, name).then(
          () => undefined,
          (err: unknown) => {
            fail(err instanceof ImgdError ? err : new ImgdError('malformed_multipart', `The upload was cut short: ${(err as Error).message}`), name);
            stream.resume();
            // A body over the limit is not read any further: answer now, and let the connection close.
            if (failure?.error.code === 'file_too_large') resolve();
          },
        ),
      );
    });
    parser.on('field', (name, value, _nameTruncated, valueTruncated) => {
      if (!name) return fail(new ImgdError('malformed_multipart', 'A form part has no name.'));
      if (valueTruncated) fail(new ImgdError('validation_failed', `Field ${JSON.stringify(name)} is longer than ${MAX_FIELD_BYTES} bytes.`, { field: name }));
      else if (name in fields) fail(new ImgdError('validation_failed', `Field ${JSON.stringify(name)} is given twice.`, { field: name }));
      else fields[name] = value;
    });
    /**
     * A limit hit refuses the whole request, so the rest of the body is drained unparsed. Parsing on is
     * not only wasted: busboy stalls for good when the last part it skips is larger than its buffer.
     */
    const stop = (error: ImgdError): void => {
      fail(error);
      stopped = true;
      abortOpen();
      resolve();
    };
    parser.on('filesLimit', () => stop(new ImgdError('too_many_files', `At most ${maxFiles} files may be sent at once.`, { limit: maxFiles })));
    parser.on('partsLimit', () => stop(new ImgdError('too_many_files', 'The form has too many parts.')));
    parser.on('fieldsLimit', () => stop(new ImgdError('validation_failed', 'The form has too many fields.')));
    parser.on('error', (err: unknown) => {
      fail(new ImgdError('malformed_multipart', `The multipart body cannot be read: ${(err as Error).message}.`));
      abortOpen();
      resolve();
    });
    parser.on('finish', () => resolve());
    request.raw.on('aborted', () => {
      fail(new ImgdError('malformed_multipart', 'The client went away before the upload ended.'));
      abortOpen();
      resolve();
    });
  });

  request.raw.pipe(parser);
  await done;
  if (stopped || failure?.error.code === 'file_too_large' || failure?.error.code === 'malformed_multipart') {
    request.raw.unpipe(parser);
    request.raw.resume();
  }
  await Promise.allSettled(pending);
  if (failure) throw await batch.abort(failure.error, failure.name);
  return fields;
}
