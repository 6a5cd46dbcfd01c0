// Reads a profile's multipart form: the text fields, and the first file part handed over as a stream with its headers as sent.
import type { EventEmitter } from 'node:events';
import type { Readable } from 'node:stream';
import type { FastifyRequest } from 'fastify';
import { Busboy } from '@fastify/busboy';

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
 */
export async function readForm(request: FastifyRequest, fileField: string, onFile: (file: FormFile) => Promise<void>): Promise<FormResult> {
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
    request.raw.resume();
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
  let stopped: unknown;
  const done = new Promise<void>((resolve) => {
    parser.on('file', (field, stream, filename, _encoding, mimeType) => {
      if (field !== fileField || sawFile || stopped !== undefined) {
        stream.resume();
        return;
      }
      sawFile = true;
      const type = typeSent && mimeType ? mimeType.split(';')[0]!.trim().toLowerCase() : undefined;
      handling = onFile({ field, filename, mimeType: type || undefined, stream }).catch((err: unknown) => {
        stopped = err;
        stream.resume();
        resolve();
      });
    });
    parser.on('field', (name, value) => {
      if (!(name in fields)) fields[name] = value;
    });
    parser.on('error', () => {
      malformed = true;
      resolve();
    });
    parser.on('finish', () => resolve());
    request.raw.on('aborted', () => {
      malformed = true;
      resolve();
    });
  });
  request.raw.pipe(parser);
  await done;
  await handling;
  const abandoned = stopped !== undefined || malformed;
  if (abandoned) {
    request.raw.unpipe(parser);
    request.raw.resume();
  }
  if (stopped !== undefined) throw stopped;
  return { fields, sawFile, malformed, abandoned };
}
