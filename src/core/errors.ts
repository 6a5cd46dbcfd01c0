// The one error type of imgd: a stable code and a human message. What a code means on the wire (its HTTP status)
// is decided in http/error-codes.ts, which must name every code below (the compiler checks it).

export type ErrorCode =
  | 'bad_request'
  | 'validation_failed'
  | 'missing_boundary'
  | 'malformed_multipart'
  | 'unknown_field'
  | 'missing_file'
  | 'too_many_files'
  | 'invalid_cursor'
  | 'invalid_webhook_url'
  | 'unauthorized'
  | 'forbidden'
  | 'csrf_failed'
  | 'not_found'
  | 'conflict'
  | 'offset_mismatch'
  | 'idempotency_key_in_use'
  | 'upload_expired'
  | 'precondition_failed'
  | 'idempotency_key_reused'
  | 'webhook_target_refused'
  | 'too_many_webhooks'
  | 'checksum_mismatch'
  | 'file_too_large'
  | 'body_too_large'
  | 'unsupported_media_type'
  | 'unsupported_format'
  | 'range_not_satisfiable'
  | 'empty_file'
  | 'corrupt_image'
  | 'image_too_large'
  | 'too_many_frames'
  | 'svg_entities'
  | 'svg_too_complex'
  | 'decode_timeout'
  | 'request_timeout'
  | 'uri_too_long'
  | 'headers_too_large'
  | 'rate_limited'
  | 'internal'
  | 'unavailable'
  | 'insufficient_storage';

/** The codes that say the service failed, not the request: the same request may succeed later. */
const SERVICE_FAULTS: ReadonlySet<ErrorCode> = new Set<ErrorCode>(['internal', 'unavailable', 'insufficient_storage']);

export const isServiceFault = (code: ErrorCode): boolean => SERVICE_FAULTS.has(code);

export class ImgdError extends Error {
  override name = 'ImgdError';

  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly extra: Record<string, unknown> = {},
  ) {
    super(message);
  }
}

export const isImgdError = (err: unknown): err is ImgdError => err instanceof ImgdError;

/**
 * The reason a codec gave, as one line a person can read: libvips answers with several lines, each prefixed by the
 * loader's class name ("VipsJpeg: ..."), its warnings mixed in and repeated. The first line that is not a warning.
 */
export function codecReason(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  const lines = message
    .replace(/^Input (buffer|file) (has corrupt header|contains unsupported image format):\s*/i, '')
    .split('\n')
    .map((line) => line.replace(/\bVips[A-Za-z]*:\s*/g, '').replace(/\s+/g, ' ').trim())
    .filter((line) => line !== '');
  const reason = lines.find((line) => !/^warning\b/i.test(line)) ?? lines[0] ?? 'unknown error';
  return (reason.length > 200 ? `${reason.slice(0, 200)}...` : reason).replace(/\.$/, '');
}
