// HTTP caching and range rules for stored bytes: what status and headers a GET or HEAD gets.
import fresh from 'fresh';
import parseRange from 'range-parser';
import type { ByteRange } from '../core/storage/blob-store.js';

export interface ServeRequest {
  readonly method: string;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
}

export interface Servable {
  readonly etag: string;
  readonly lastModified: Date;
  readonly size: number;
  readonly contentType: string;
  readonly cacheControl: string;
}

export interface ServeDecision {
  readonly status: 200 | 206 | 304 | 416;
  readonly headers: Record<string, string>;
  /** The bytes to send, if any. */
  readonly range: ByteRange | undefined;
  readonly sendBody: boolean;
}

const header = (req: ServeRequest, name: string): string | undefined => {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
};

/** If-Range holds when it names our ETag (strong) or a date not older than our Last-Modified. */
function ifRangeHolds(value: string | undefined, item: Servable): boolean {
  if (value === undefined) return true;
  if (value.startsWith('"') || value.startsWith('W/')) return value === item.etag;
  const date = Date.parse(value);
  return !Number.isNaN(date) && Math.floor(item.lastModified.getTime() / 1000) <= Math.floor(date / 1000);
}

/**
 * RFC 9110 §14.1.2: a suffix range longer than the representation selects all of it (`bytes=-5000` of a
 * 1000-byte file is bytes 0-999). range-parser drops such a range as unsatisfiable, which answered 416,
 * so suffix lengths are clamped to the size before parsing.
 */
function clampSuffixes(rangeHeader: string, size: number): string {
  const eq = rangeHeader.indexOf('=');
  if (eq === -1) return rangeHeader;
  const specs = rangeHeader
    .slice(eq + 1)
    .split(',')
    .map((spec) => {
      const suffix = /^\s*-\s*(\d+)\s*$/.exec(spec);
      return suffix && Number(suffix[1]) > size ? `-${size}` : spec;
    });
  return `${rangeHeader.slice(0, eq + 1)}${specs.join(',')}`;
}

/**
 * Every stored file is sandboxed (no script, no same-origin access). Inline styles are allowed for the browser's own
 * image viewer (a raster image opened in a tab) and an SVG's own styles; an SVG may also use data: images. Nothing
 * can be loaded from elsewhere.
 */
const RASTER_CSP = "default-src 'none'; style-src 'unsafe-inline'; sandbox";
const SVG_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; sandbox";

export function decideServe(req: ServeRequest, item: Servable): ServeDecision {
  const base: Record<string, string> = {
    'content-type': item.contentType,
    etag: item.etag,
    'last-modified': item.lastModified.toUTCString(),
    'cache-control': item.cacheControl,
    'accept-ranges': 'bytes',
    'x-content-type-options': 'nosniff',
    'content-security-policy': item.contentType === 'image/svg+xml' ? SVG_CSP : RASTER_CSP,
  };
  const sendBody = req.method !== 'HEAD';

  const conditional = {
    'if-none-match': header(req, 'if-none-match'),
    'if-modified-since': header(req, 'if-none-match') === undefined ? header(req, 'if-modified-since') : undefined,
  };
  if ((conditional['if-none-match'] || conditional['if-modified-since']) && fresh(conditional, { etag: item.etag, 'last-modified': base['last-modified'] })) {
    return { status: 304, headers: base, range: undefined, sendBody: false };
  }

  const rangeHeader = header(req, 'range');
  if (rangeHeader && item.size > 0 && ifRangeHolds(header(req, 'if-range'), item)) {
    const ranges = parseRange(item.size, clampSuffixes(rangeHeader, item.size), { combine: true });
    if (ranges === -1) {
      return {
        status: 416,
        headers: { ...base, 'content-range': `bytes */${item.size}`, 'content-length': '0' },
        range: undefined,
        sendBody: false,
      };
    }
    // One range is served as asked; several (rare for images) get the whole file, which HTTP allows.
    if (ranges !== -2 && ranges.type === 'bytes' && ranges.length === 1) {
      const { start, end } = ranges[0]!;
      return {
        status: 206,
        headers: { ...base, 'content-range': `bytes ${start}-${end}/${item.size}`, 'content-length': String(end - start + 1) },
        range: { start, end },
        sendBody,
      };
    }
  }
  return { status: 200, headers: { ...base, 'content-length': String(item.size) }, range: undefined, sendBody };
}
