// Reads a profile's multipart form: the text fields, and the first file part handed over as a stream with its headers as sent.
import type { EventEmitter } from 'node:events';
import type { Readable } from 'node:stream';
import type { FastifyRequest } from 'fastify';
import { Busboy } from '@fastify/busboy';
import { declaredOver, FORM_BYTES, meterForm, type FormLimits } from '../form-meter.js';

/** A file part as the client sent it: the form field, the filename parameter (path and all), the declared type. */
export interface FormFile {
  readonly field: string;
  /** undefined when the part had no filename parameter; "" when it was empty (a form sent with no file chosen). */
  readonly filename: string | undefined;
  /** The part's Content-Type, lowercased, without parameters; undefined when absent. */
  readonly mimeType: string | undefined;
  readonly stream: Readable;
}

export interface FormResult {
  readonly fields: Readonly<Record<string, string>>;
  /** Whether a file part named `fileField` arrived. */
  readonly sawFile: boolean;
  /** The body could not be read as multipart (no boundary, cut short, garbled). */
  readonly malformed: boolean;
  /** Whether the request body was left unread (the file handler stopped early): the connection is not reused. */
  readonly abandoned: boolean;
}

const MAX_FIELD_BYTES = 16 * 1024;

/**
 * Parses the body. `onFile` gets the first part named `fileField` and must read its stream to the end, or reject to
 * stop: the rest of the body is then left unread (the answer goes out at once, e.g. over the size limit) and the
 * rejection comes back from readForm. Other file parts are skipped. Text fields are collected (the first of a name).
 * A body over `maxFileBytes` and the form's own bound (a Content-Length over it before anything is read) is refused
 * the same way, as file_too_large: the seeds knew no other size limit.
 */
export async function readForm(
  request: FastifyRequest,
  fileField: string,
  maxFileBytes: number,
  onFile: (file: FormFile) => Promise<void>,
): Promise<FormResult> {
  const limits: FormLimits = { bodyBytes: maxFileBytes + FORM_BYTES, code: 'file_too_large' };
  const declared = declaredOver(request, limits);
  if (declared) throw declared;
  const fields: Record<string, string> = {};
  let sawFile = false;
  let malformed = false;
  let parser: ReturnType<typeof Busboy>;
  try {
    parser = Busboy({
      headers: request.headers as Parameters<typeof Busboy>[0]['headers'],
      preservePath: true,
      // As Starlette and werkzeug read a form: a part is a file when it carries a filename parameter, empty or not.
      isPartAFile: (_field: string, _type: string, filename: string | undefined) => filename !== undefined,
      limits: { files: 10, fields: 20, fieldSize: MAX_FIELD_BYTES, fieldNameSize: 200, parts: 30, headerPairs: 50 },
    } as Parameters<typeof Busboy>[0]);
  } catch {
    // Not read at all: if the answer goes out before the body ended, the connection closes (unread-body.ts).
    return { fields, sawFile, malformed: true, abandoned: false };
  }

  // busboy reports a part sent without Content-Type as text/plain (RFC 7578's default); the seeds saw none, and
  // imgapi says so ("Bad MIME type: (none)"). Its part parser is listened to first, to learn whether the part had one.
  let typeSent = true;
  const parts = (parser as unknown as { _parser?: { parser?: EventEmitter } })._parser?.parser;
  parts?.prependListener('part', (part: EventEmitter) => {
    part.on('header', (header: Record<string, string[] | undefined>) => {
      typeSent = Boolean(header['content-type']?.[0]);
    });
  });

  let handling: Promise<void> | undefined;
  let handled: Readable | undefined;
  let stopped: unknown;
  let finished!: () => void;
  const done = new Promise<void>((resolve) => {
    finished = resolve;
  });
  parser.on('file', (field, stream, filename, _encoding, mimeType) => {
    if (field !== fileField || sawFile || stopped !== undefined) {
      stream.resume();
      return;
    }
    sawFile = true;
    handled = stream;
    meter.fileStarted(stream);
    const type = typeSent && mimeType ? mimeType.split(';')[0]!.trim().toLowerCase() : undefined;
    handling = onFile({ field, filename, mimeType: type || undefined, stream }).catch((err: unknown) => {
      stopped ??= err;
      stream.resume();
      finished();
    });
  });
  parser.on('field', (name, value) => {
    if (!(name in fields)) fields[name] = value;
  });
  parser.on('error', () => {
    malformed = true;
    finished();
  });
  parser.on('finish', () => finished());
  request.raw.on('aborted', () => {
    malformed = true;
    finished();
  });
  request.raw.pipe(parser);
  // After the pipe: busboy has seen a chunk (and announced its file part) before the meter counts it.
  const meter = meterForm(request, limits, (error) => {
    stopped ??= error;
    // The file being read gets no more bytes: it fails with the reason, so its handler stops too.
    if (handled && !handled.readableEnded) handled.destroy(error);
    finished();
  });
  await done;
  meter.stop();
  const abandoned = stopped !== undefined || malformed;
  if (abandoned) {
    request.raw.unpipe(parser);
    request.raw.pause();
  }
  await handling;
  if (stopped !== undefined) throw stopped;
  return { fields, sawFile, malformed, abandoned };
}
