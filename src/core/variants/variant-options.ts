// Variant options: parsed once, bounded, canonical; the same value names the cache entry and is what gets signed.
import { createHmac } from 'node:crypto';
import { secretEquals } from '../../lib/secrets.js';
import { ImgdError } from '../errors.js';

export const FITS = ['cover', 'contain', 'inside', 'outside', 'fill'] as const;
export type Fit = (typeof FITS)[number];
export const OUTPUT_FORMATS = ['avif', 'webp', 'jpeg', 'png', 'gif'] as const;
export type OutputFormat = (typeof OUTPUT_FORMATS)[number];

export interface VariantOptions {
  readonly width: number | null;
  readonly height: number | null;
  readonly fit: Fit;
  /** `auto` picks by the request's Accept header. */
  readonly format: OutputFormat | 'auto';
  readonly quality: number | null;
}

export interface VariantRules {
  readonly presets: Readonly<Record<string, VariantOptions>>;
  /** Sizes an unsigned request may ask for; a signed one may ask for any size up to maxDimension. */
  readonly sizes: readonly number[];
  readonly qualities: readonly number[];
  readonly maxDimension: number;
  /** `required`: every on-the-fly request must be signed; `off`: unsigned ones within the allowlists. */
  readonly signing: 'off' | 'required';
  readonly signingKey: string;
}

export const DEFAULT_SIZES = [32, 64, 128, 256, 320, 480, 512, 640, 768, 1024, 1280, 1536, 1920, 2048];
export const DEFAULT_QUALITIES = [40, 50, 60, 70, 75, 80, 85, 90, 95];

/** `small:256,medium:1024` -> presets that fit inside a square of that size, format by Accept. */
export function parsePresets(spec: string): Record<string, VariantOptions> {
  const presets: Record<string, VariantOptions> = {};
  for (const part of spec.split(',').map((p) => p.trim()).filter(Boolean)) {
    const m = /^([a-z][a-z0-9_-]{0,31}):(\d{1,5})$/.exec(part);
    if (!m) throw new Error(`preset ${JSON.stringify(part)} is not name:size`);
    const size = Number(m[2]);
    presets[m[1]!] = { width: size, height: size, fit: 'inside', format: 'auto', quality: null };
  }
  return presets;
}

/** The one spelling of an options value: `w256-h256-inside-auto-q0`. */
export function canonicalOptions(o: VariantOptions): string {
  return `w${o.width ?? 0}-h${o.height ?? 0}-${o.fit}-${o.format}-q${o.quality ?? 0}`;
}

export function signOptions(key: string, filename: string, o: VariantOptions): string {
  return createHmac('sha256', key).update(`variant\n${filename}\n${canonicalOptions(o)}`).digest('base64url').slice(0, 32);
}

const bad = (message: string, field: string): ImgdError => new ImgdError('validation_failed', message, { field });

function parseInteger(value: string | undefined, field: string): number | null {
  if (value === undefined || value === '') return null;
  if (!/^\d{1,6}$/.test(value)) throw bad(`${field} must be a whole number.`, field);
  return Number(value);
}

export interface TransformQuery {
  readonly w?: string | undefined;
  readonly h?: string | undefined;
  readonly fit?: string | undefined;
  readonly format?: string | undefined;
  readonly q?: string | undefined;
  readonly s?: string | undefined;
}

export function parseFormat(value: string | undefined): OutputFormat | 'auto' {
  const format = (value ?? 'auto') as OutputFormat | 'auto';
  if (format !== 'auto' && !OUTPUT_FORMATS.includes(format)) throw bad(`format must be auto or one of ${OUTPUT_FORMATS.join(', ')}.`, 'format');
  return format;
}

/** On-the-fly parameters within the hard bounds (dimension, fit, quality range), allowlists not applied. */
function parseBounded(query: TransformQuery, rules: VariantRules): VariantOptions {
  const width = parseInteger(query.w, 'w');
  const height = parseInteger(query.h, 'h');
  const quality = parseInteger(query.q, 'q');
  const fit = (query.fit ?? 'inside') as Fit;
  const format = parseFormat(query.format);
  if (width === null && height === null) throw bad('Give w, h or both.', 'w');
  for (const [field, v] of [['w', width], ['h', height]] as const) {
    if (v !== null && (v < 1 || v > rules.maxDimension)) throw bad(`${field} must be 1 to ${rules.maxDimension}.`, field);
  }
  if (!FITS.includes(fit)) throw bad(`fit must be one of ${FITS.join(', ')}.`, 'fit');
  if (quality !== null && (quality < 1 || quality > 100)) throw bad('q must be 1 to 100.', 'q');
  return { width, height, fit, format, quality };
}

/** The query string of a signed transform URL: any bounded size, no allowlist. */
export function signedTransformQuery(query: TransformQuery, filename: string, rules: VariantRules): string {
  const options = parseBounded(query, rules);
  const params = new URLSearchParams();
  if (options.width !== null) params.set('w', String(options.width));
  if (options.height !== null) params.set('h', String(options.height));
  params.set('fit', options.fit);
  params.set('format', options.format);
  if (options.quality !== null) params.set('q', String(options.quality));
  params.set('s', signOptions(rules.signingKey, filename, options));
  return params.toString();
}

/** Checks on-the-fly parameters against the bounds, the allowlists, or the signature. */
export function parseTransform(query: TransformQuery, filename: string, rules: VariantRules): VariantOptions {
  const options = parseBounded(query, rules);
  const { width, height, quality } = options;

  if (query.s !== undefined) {
    if (!secretEquals(query.s, signOptions(rules.signingKey, filename, options))) {
      throw new ImgdError('forbidden', 'The transform signature does not match these parameters.');
    }
    return options;
  }
  if (rules.signing === 'required') throw new ImgdError('forbidden', 'Transform URLs must be signed on this server (parameter s).');
  // Unsigned requests stay on the allowlists, so nobody can make the cache grow without bound.
  for (const [field, v] of [['w', width], ['h', height]] as const) {
    if (v !== null && !rules.sizes.includes(v)) throw bad(`${field} must be one of ${rules.sizes.join(', ')} (or the URL must be signed).`, field);
  }
  if (quality !== null && !rules.qualities.includes(quality)) {
    throw bad(`q must be one of ${rules.qualities.join(', ')} (or the URL must be signed).`, 'q');
  }
  return options;
}

export interface SourceTraits {
  readonly hasAlpha: boolean;
  readonly animated: boolean;
}

/**
 * Picks, among formats this source can be served in (best first by the server's own preference), the one the client
 * prefers; undefined when the client names none of them. The HTTP layer builds it from the Accept header's q-values.
 */
export type FormatChooser = (candidates: readonly OutputFormat[]) => OutputFormat | undefined;

/** No Accept header, or one that names no format worth choosing: the universal formats. */
export const NO_PREFERENCE: FormatChooser = () => undefined;

/** The concrete output format: pinned by the URL, or the one the client prefers of those worth sending. */
export function negotiateFormat(requested: OutputFormat | 'auto', choose: FormatChooser, source: SourceTraits): OutputFormat {
  if (requested !== 'auto') {
    // AVIF in sharp is still images only; an animated source keeps moving as WebP.
    return requested === 'avif' && source.animated ? 'webp' : requested;
  }
  // JPEG, PNG and GIF every client reads: what a client gets that prefers them, or names none of the candidates.
  const universal = source.animated ? 'gif' : source.hasAlpha ? 'png' : 'jpeg';
  return choose(source.animated ? ['webp', universal] : ['avif', 'webp', universal]) ?? universal;
}

export const CONTENT_TYPES: Record<OutputFormat, string> = {
  avif: 'image/avif',
  webp: 'image/webp',
  jpeg: 'image/jpeg',
  png: 'image/png',
  gif: 'image/gif',
};
