// Variants: rendered with sharp on first request (or by the processing job), cached in the blob store, computed once per burst.
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import sharp, { type Sharp } from 'sharp';
import { readBlob, type BlobStore } from '../storage/blob-store.js';
import { originalKey } from '../storage/blob-keys.js';
import { decodeCost, type DecodeBudget, type Patience } from '../codecs/decode-budget.js';
import { codecReason, ImgdError } from '../errors.js';
import { SVG_BASE_DENSITY, svgDensity } from '../codecs/svg/svg-raster.js';
import type { ImageRecord } from '../images/image.js';
import {
  canonicalOptions,
  CONTENT_TYPES,
  negotiateFormat,
  parseFormat,
  parseTransform,
  signedTransformQuery,
  NO_PREFERENCE,
  type FormatChooser,
  type OutputFormat,
  type TransformQuery,
  type VariantOptions,
  type VariantRules,
} from './variant-options.js';

export interface VariantRequest {
  readonly options: VariantOptions;
  readonly format: OutputFormat;
  readonly key: string;
  /** True when the format came from Accept, so caches must Vary on it. */
  readonly negotiated: boolean;
}

export interface RenderedVariant {
  readonly key: string;
  readonly size: number;
  readonly contentType: string;
  readonly etag: string;
  /** The bytes, when this variant was rendered just now (they are in memory anyway). */
  readonly bytes?: Buffer;
  open(range?: { start: number; end: number }): Promise<Readable>;
}

/** Builds the sharp pipeline input for an original; HEIC and other formats sharp cannot read plug in here. */
export type SourceDecoder = (bytes: Buffer, image: ImageRecord) => Promise<Sharp>;

export interface VariantDeps {
  readonly store: BlobStore;
  readonly rules: VariantRules;
  readonly pixelLimit: number;
  /** Decoders by stored format, for formats sharp cannot read itself. */
  readonly decoders?: Readonly<Record<string, SourceDecoder>>;
  /** Told about every render (not cache hits), for metrics. */
  readonly onRendered?: (format: OutputFormat) => void;
  /** The decode memory all decodes share. */
  readonly budget: DecodeBudget;
}

const EXTENSIONS: Record<OutputFormat, string> = { avif: 'avif', webp: 'webp', jpeg: 'jpg', png: 'png', gif: 'gif' };

export function variantKey(sha256: string, options: VariantOptions, format: OutputFormat): string {
  return `variants/${sha256.slice(0, 2)}/${sha256.slice(2, 4)}/${sha256}/${canonicalOptions(options)}.${EXTENSIONS[format]}`;
}

/** Bytes under a key never change, so the key names them: a strong validator without reading them. */
const etagOf = (key: string): string => `"${createHash('sha256').update(key).digest('hex').slice(0, 32)}"`;

function encode(pipeline: Sharp, format: OutputFormat, quality: number | null): Sharp {
  switch (format) {
    case 'jpeg':
      return pipeline.jpeg({ quality: quality ?? 80, mozjpeg: false });
    case 'webp':
      return pipeline.webp({ quality: quality ?? 80, effort: 4 });
    case 'avif':
      return pipeline.avif({ quality: quality ?? 50, effort: 3 });
    case 'png':
      return pipeline.png({ compressionLevel: 6, ...(quality !== null && { quality, palette: quality < 100 }) });
    case 'gif':
      return pipeline.gif();
  }
}

export interface Variants {
  /** Options from a preset name or on-the-fly parameters, the format from the URL or Accept. */
  plan(image: ImageRecord, preset: string | undefined, query: TransformQuery, choose?: FormatChooser): VariantRequest;
  /**
   * The cached variant, rendered now if it is not cached yet (once, however many ask at the same time), within the
   * decode memory budget: a request waits a bounded time for its share (then 503), a job as long as it takes.
   */
  get(image: ImageRecord, request: VariantRequest, patience?: Patience): Promise<RenderedVariant>;
  /** Renders the presets in the given formats ahead of requests; `original` spares reading the stored bytes again. Answers those it rendered. */
  /** `strict`: an original libvips finds damaged is refused (corrupt_image) instead of rendered as far as it reads. */
  pregenerate(image: ImageRecord, formats: readonly OutputFormat[], original?: Buffer, strict?: boolean): Promise<RenderedVariant[]>;
  presetNames(): string[];
  /** The query string of a signed on-the-fly URL for these parameters (any size within the bounds). */
  signedQuery(image: ImageRecord, query: TransformQuery): string;
}

export function createVariants(deps: VariantDeps): Variants {
  const { store, rules } = deps;
  const inFlight = new Map<string, Promise<RenderedVariant>>();

  const described = (key: string, size: number, format: OutputFormat, bytes?: Buffer): RenderedVariant => ({
    key,
    size,
    contentType: CONTENT_TYPES[format],
    etag: etagOf(key),
    ...(bytes && { bytes }),
    // Just rendered: sent from memory rather than read back from the store.
    open: async (range) => (bytes ? Readable.from([range ? bytes.subarray(range.start, range.end + 1) : bytes]) : store.get(key, range)),
  });

  /** Where renders take their pixels from: the original's file or bytes, read once, or what a decoder made of them. */
  interface Source {
    /** A local file of the original, which libvips reads itself (no copy of it in JavaScript). */
    readonly file?: string;
    readonly bytes?: Buffer;
    readonly decoded?: () => Sharp;
    /** Refuse an original libvips finds damaged rather than render what it can of it (the processing job's check). */
    readonly strict?: boolean;
  }

  /** The original's file (disk store) or bytes, not decoded yet. */
  async function locate(image: ImageRecord, original?: Buffer): Promise<Source> {
    const key = originalKey(image.sha256);
    const decoder = deps.decoders?.[image.format];
    // On the disk store libvips opens the file itself; SVG and decoded formats need the bytes in memory.
    if (original === undefined && !decoder && image.format !== 'svg' && store.localPath) return { file: store.localPath(key) };
    return { bytes: original ?? (await readBlob(store, key)) };
  }

  /** Formats with their own decoder (HEIC) are slow to decode: decoded once here, for every render that shares the source. */
  async function decode(image: ImageRecord, located: Source): Promise<Source> {
    const decoder = deps.decoders?.[image.format];
    if (!decoder || !located.bytes) return located;
    const { data, info } = await (await decoder(located.bytes, image)).raw().toBuffer({ resolveWithObject: true });
    return { ...located, decoded: () => sharp(data, { raw: { width: info.width, height: info.height, channels: info.channels } }) };
  }

  /** What rendering these variants from this source costs the decode memory budget: its largest decode. */
  async function costOf(image: ImageRecord, plans: readonly VariantRequest[], located: Source): Promise<number> {
    if (image.format === 'svg') {
      // Drawn whole at the largest size asked for.
      const densest = Math.max(...plans.map((p) => svgDensity(image, p.options, deps.pixelLimit)));
      const scale = densest / SVG_BASE_DENSITY;
      return decodeCost({ format: 'svg', width: Math.ceil(image.width * scale), height: Math.ceil(image.height * scale) });
    }
    // A progressive JPEG holds every coefficient while it decodes; its header says which it is.
    const progressive = image.format === 'jpeg' && Boolean((await sharp(located.file ?? located.bytes!).metadata().catch(() => undefined))?.isProgressive);
    return decodeCost({ format: image.format, width: image.width, height: image.height, frames: image.frames, progressive });
  }

  function input(image: ImageRecord, options: VariantOptions, format: OutputFormat, source: Source): Sharp {
    if (source.decoded) return source.decoded();
    const from = source.file ?? source.bytes!;
    if (image.format === 'svg') {
      // Drawn at the variant's size (never as SVG): vectors scale up cleanly, within the pixel limit.
      const density = svgDensity(image, options, deps.pixelLimit);
      return sharp(from, { limitInputPixels: deps.pixelLimit, density, failOn: 'none' });
    }
    const failOn = source.strict ? 'error' : 'none';
    // Only formats that animate get every frame; the others take the first.
    const animated = image.frames > 1 && (format === 'webp' || format === 'gif');
    return sharp(from, { limitInputPixels: deps.pixelLimit, animated, failOn });
  }

  /** One variant on its own (a request, or a job's fallback): within the decode memory budget. */
  async function renderAlone(image: ImageRecord, request: VariantRequest, patience: Patience): Promise<RenderedVariant> {
    const located = await locate(image);
    const cost = await costOf(image, [request], located);
    return deps.budget.run(cost, patience, async () => render(image, request, await decode(image, located)));
  }

  async function render(image: ImageRecord, request: VariantRequest, source: Source): Promise<RenderedVariant> {
    const { options, format } = request;
    let bytes: Buffer;
    try {
      // Orientation first (EXIF), then a thumbnail-style resize so shrink-on-load applies.
      const pipeline = input(image, options, format, source)
        .rotate()
        .resize({ width: options.width ?? undefined, height: options.height ?? undefined, fit: options.fit, withoutEnlargement: true });
      bytes = await encode(pipeline, format, options.quality).toBuffer();
    } catch (err) {
      if (err instanceof ImgdError) throw err;
      // libvips read the file itself: an original that is gone is not_found, as when the store reads it.
      if (source.file !== undefined && !(await store.stat(originalKey(image.sha256)))) {
        throw new ImgdError('not_found', `No blob ${originalKey(image.sha256)}.`);
      }
      throw new ImgdError('corrupt_image', `The variant cannot be made: ${codecReason(err)}.`);
    }
    // Flushed like an original: a variant torn by a power loss would be served (and cached by clients, under a
    // strong ETag) as it is, since nothing checks a stored variant again.
    await store.putBytes(request.key, bytes);
    deps.onRendered?.(format);
    return described(request.key, bytes.length, format, bytes);
  }

  /** Renders a variant known not to be cached, once however many ask for it at the same time. */
  /**
   * The stored variant, or one render of it however many ask at the same time. The store is looked up inside the
   * shared promise: a caller that looked before a render finished and arrives after it must find it, not render again.
   */
  function renderOnce(image: ImageRecord, request: VariantRequest, patience: Patience, source?: Source): Promise<RenderedVariant> {
    let pending = inFlight.get(request.key);
    if (!pending) {
      pending = (async () => {
        const cached = await store.stat(request.key);
        if (cached) return described(request.key, cached.size, request.format);
        // A shared source is decoded already, within the budget its caller holds.
        return source ? render(image, request, source) : renderAlone(image, request, patience);
      })().finally(() => inFlight.delete(request.key));
      inFlight.set(request.key, pending);
    }
    return pending;
  }

  const api: Variants = {
    plan(image, preset, query, choose = NO_PREFERENCE) {
      let options: VariantOptions;
      if (preset !== undefined) {
        const found = rules.presets[preset];
        if (!found) throw new ImgdError('not_found', `No variant ${JSON.stringify(preset)}; presets: ${Object.keys(rules.presets).join(', ')}.`);
        options = query.format === undefined ? found : { ...found, format: parseFormat(query.format) };
      } else {
        options = parseTransform(query, image.filename, rules);
      }
      const traits = { hasAlpha: image.hasAlpha, animated: image.frames > 1 };
      const format = negotiateFormat(options.format, choose, traits);
      return { options, format, key: variantKey(image.sha256, options, format), negotiated: options.format === 'auto' };
    },

    get: (image, request, patience = 'request') => renderOnce(image, request, patience),

    async pregenerate(image, formats, original, strict = false) {
      const plans = Object.keys(rules.presets).flatMap((name) => formats.map((format) => api.plan(image, name, { format })));
      const missing: VariantRequest[] = [];
      for (const plan of plans) if (!(await store.stat(plan.key))) missing.push(plan);
      if (missing.length === 0) return [];
      const located = await locate(image, original);
      const cost = await costOf(image, missing, located);
      // One share of the budget for the decoded source and every render from it; a job waits for it as long as it takes.
      return deps.budget.run(cost, 'job', async () => {
        const source = { ...(await decode(image, located)), strict };
        const rendered: RenderedVariant[] = [];
        for (const plan of missing) {
          // Being rendered by a request, inside its own share: joining it here while holding ours could wait on ourselves.
          if (inFlight.has(plan.key)) continue;
          rendered.push(await renderOnce(image, plan, 'job', source));
        }
        return rendered;
      });
    },

    presetNames: () => Object.keys(rules.presets),
    signedQuery: (image, query) => signedTransformQuery(query, image.filename, rules),
  };
  return api;
}
