// The registry of error codes: every code the core and the HTTP layer use, with the HTTP status it answers.
import type { ErrorCode } from '../core/errors.js';

/** Code to HTTP status. Typed by ErrorCode both ways: a code missing here, or here and not in the core, does not compile. */
const STATUS: { readonly [C in ErrorCode]: number } = {
  bad_request: 400,
  validation_failed: 400,
  missing_boundary: 400,
  malformed_multipart: 400,
  unknown_field: 400,
  missing_file: 400,
  too_many_files: 400,
  invalid_cursor: 400,
  invalid_webhook_url: 400,
  unauthorized: 401,
  forbidden: 403,
  csrf_failed: 403,
  not_found: 404,
  conflict: 409,
  offset_mismatch: 409,
  idempotency_key_in_use: 409,
  upload_expired: 410,
  precondition_failed: 412,
  idempotency_key_reused: 422,
  webhook_target_refused: 422,
  too_many_webhooks: 409,
  checksum_mismatch: 460,
  file_too_large: 413,
  body_too_large: 413,
  unsupported_media_type: 415,
  unsupported_format: 415,
  range_not_satisfiable: 416,
  empty_file: 422,
  corrupt_image: 422,
  image_too_large: 422,
  too_many_frames: 422,
  svg_entities: 422,
  svg_too_complex: 422,
  decode_timeout: 422,
  request_timeout: 408,
  uri_too_long: 414,
  headers_too_large: 431,
  rate_limited: 429,
  internal: 500,
  unavailable: 503,
  insufficient_storage: 507,
};

/** Every code, in the registry's order: the OpenAPI document's enum of `code`. */
export const ERROR_CODES = Object.keys(STATUS) as readonly ErrorCode[];

export const statusOf = (code: ErrorCode): number => STATUS[code];

/** A problem's `title`: its code in words ("file_too_large" is "File too large"). */
export function titleOf(code: string): string {
  const words = code.replace(/_/g, ' ');
  return words.charAt(0).toUpperCase() + words.slice(1);
}
