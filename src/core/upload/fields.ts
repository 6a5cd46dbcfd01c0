// The optional fields that come with an upload (description, key, visibility), checked once.
import { ImgdError } from '../errors.js';
import { VISIBILITIES, type Visibility } from '../images/image.js';

export interface UploadFields {
  readonly description: string | null;
  readonly key: string | null;
  readonly visibility: Visibility;
}

export const UPLOAD_FIELD_NAMES = ['description', 'key', 'visibility'] as const;
export const MAX_DESCRIPTION = 2000;
export const KEY_PATTERN = '^[A-Za-z0-9][A-Za-z0-9._~@:-]*(/[A-Za-z0-9._~@:-]+)*$';
const KEY_RE = new RegExp(KEY_PATTERN);
export const MAX_KEY = 200;

/** Trimmed, an empty one none; `verbatim` keeps it as sent, an empty string included (attachments, COMPAT.md §5). */
export function checkDescription(value: string, verbatim = false): string | null {
  const kept = verbatim ? value : value.trim();
  if (kept.length > MAX_DESCRIPTION) {
    throw new ImgdError('validation_failed', `description may be at most ${MAX_DESCRIPTION} characters.`, { field: 'description' });
  }
  return kept === '' && !verbatim ? null : kept;
}

export function checkKey(value: string): string | null {
  const trimmed = value.trim();
  if (trimmed === '') return null;
  if (trimmed.length > MAX_KEY || !KEY_RE.test(trimmed) || trimmed.split('/').includes('..')) {
    throw new ImgdError(
      'validation_failed',
      `key must be 1 to ${MAX_KEY} characters of letters, digits and . _ ~ @ : -, in segments separated by /.`,
      { field: 'key' },
    );
  }
  return trimmed;
}

export function checkVisibility(value: string): Visibility {
  if (!(VISIBILITIES as readonly string[]).includes(value)) {
    throw new ImgdError('validation_failed', `visibility must be one of ${VISIBILITIES.join(', ')}.`, { field: 'visibility' });
  }
  return value as Visibility;
}

/** Checks raw form fields; any field other than the three known ones is refused. */
export function parseUploadFields(
  raw: Readonly<Record<string, string>>,
  defaults: { visibility: Visibility },
  options: { verbatimDescription?: boolean } = {},
): UploadFields {
  const unknown = Object.keys(raw).filter((name) => !(UPLOAD_FIELD_NAMES as readonly string[]).includes(name));
  if (unknown.length > 0) {
    throw new ImgdError('unknown_field', `Unknown field ${unknown.map((n) => JSON.stringify(n)).join(', ')}; accepted: file, ${UPLOAD_FIELD_NAMES.join(', ')}.`, {
      fields: unknown,
    });
  }
  return {
    description: raw.description === undefined ? null : checkDescription(raw.description, options.verbatimDescription),
    key: raw.key === undefined ? null : checkKey(raw.key),
    visibility: raw.visibility === undefined ? defaults.visibility : checkVisibility(raw.visibility.trim()),
  };
}
