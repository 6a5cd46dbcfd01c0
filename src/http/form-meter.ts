// Bounds a multipart body as it is read: what is not a file (preamble, fields, part headers, skipped parts) and the whole.
import type { Readable } from 'node:stream';
import type { FastifyRequest } from 'fastify';
import { ImgdError, type ErrorCode } from '../core/errors.js';

/**
 * Bytes of a form besides its files: fields (16 KiB each at most), part headers, boundaries. busboy truncates a long
 * field but reads it to its end, and skips a preamble or an unwanted part whatever its size: without this bound a
 * body with no file part had no limit at all.
 */
export const FORM_BYTES = 1024 * 1024;

export interface FormLimits {
  /** The whole body: every file at its limit, plus FORM_BYTES. */
  readonly bodyBytes: number;
  /** The code of the refusal (profiles answer a body over their limit as the seeds did a file over it). */
  readonly code: ErrorCode;
}

export interface FormMeter {
  /** A file part a handler reads: its bytes count as file bytes until it ends. */
  fileStarted(stream: Readable): void;
  /** Stops counting; call once the body is read or abandoned. */
  stop(): void;
}

/** The refusal of a body whose Content-Length is over the limit, before any of it is read; undefined when it may be read. */
export function declaredOver(request: FastifyRequest, limits: FormLimits): ImgdError | undefined {
  const declared = Number(request.headers['content-length']);
  if (!(declared > limits.bodyBytes)) return undefined;
  return new ImgdError(limits.code, `The request body (${declared} bytes) is larger than this server accepts here (${limits.bodyBytes} bytes).`, {
    limit: limits.bodyBytes,
  });
}

/**
 * Counts the request's bytes as they are read; `over` is called once when the body passes a bound. Bytes read while
 * no handled file part is open are form bytes; a file that never ends is bounded by its reader's own limit, and
 * everything by `bodyBytes`.
 */
export function meterForm(request: FastifyRequest, limits: FormLimits, over: (error: ImgdError) => void): FormMeter {
  let body = 0;
  let form = 0;
  let openFiles = 0;
  let done = false;
  const count = (chunk: Buffer): void => {
    body += chunk.length;
    if (openFiles === 0) form += chunk.length;
    if (done) return;
    if (form > FORM_BYTES) {
      done = true;
      over(new ImgdError(limits.code, `The form's fields, part headers and skipped parts are larger than ${FORM_BYTES} bytes.`, { limit: FORM_BYTES }));
    } else if (body > limits.bodyBytes) {
      done = true;
      over(new ImgdError(limits.code, `The request body is larger than this server accepts here (${limits.bodyBytes} bytes).`, { limit: limits.bodyBytes }));
    }
  };
  request.raw.on('data', count);
  return {
    fileStarted(stream) {
      openFiles += 1;
      let open = true;
      const ended = (): void => {
        if (!open) return;
        open = false;
        openFiles -= 1;
      };
      stream.once('end', ended).once('close', ended).once('error', ended);
    },
    stop() {
      done = true;
      request.raw.off('data', count);
    },
  };
}
