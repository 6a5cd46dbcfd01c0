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
