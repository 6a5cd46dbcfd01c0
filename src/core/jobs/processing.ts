// Background processing of a stored image: EXIF, preset variants, placeholder, then ready (or failed with a reason).
import sharp from 'sharp';
import { rgbaToThumbHash } from 'thumbhash';
import { readBlob, type BlobStore } from '../storage/blob-store.js';
import { originalKey } from '../storage/blob-keys.js';
import type { Catalog } from '../images/catalog.js';
import { ImgdError } from '../errors.js';
import type { ImageRecord } from '../images/image.js';
import type { OutputFormat } from '../variants/variant-options.js';
import type { RenderedVariant, Variants } from '../variants/variants.js';

export type ProcessingStep = 'exif' | 'variants' | 'placeholder' | 'caption';

export interface StepStats {
  readonly step: string;
  readonly count: number;
  readonly failed: number;
  readonly averageMs: number | null;
  readonly p95Ms: number | null;
}

export interface StepRun {
  readonly step: ProcessingStep;
  readonly ok: boolean;
  readonly durationMs: number;
}

export interface ProcessingRuns {
  /** Several steps of one image in one write (one transaction, not one per step). */
  recordAll(imageId: string, runs: readonly StepRun[]): Promise<void>;
  stats(sinceIso: string): Promise<StepStats[]>;
}

/** A caption for an image, from some vision model; undefined when none could be made. */
export type Captioner = (image: ImageRecord, jpeg: Buffer) => Promise<string | undefined>;

export interface ProcessingDeps {
  readonly catalog: Catalog;
  readonly store: BlobStore;
  readonly variants: Variants;
  readonly runs: ProcessingRuns;
  readonly extractExif: (bytes: Buffer) => Promise<unknown>;
  readonly captioner: Captioner | undefined;
}

export interface Processing {
  /** Idempotent: running it again on a processed image does the same work and lands in the same state. */
  process(imageId: string): Promise<void>;
  caption(imageId: string): Promise<void>;
  markFailed(imageId: string, reason: string): Promise<void>;
}

/** Formats prepared ahead for each preset: what most clients get, and the fallback for the rest. */
function formatsFor(image: ImageRecord): OutputFormat[] {
  if (image.frames > 1) return ['webp', 'gif'];
  return ['webp', image.hasAlpha ? 'png' : 'jpeg'];
}

function keepLocation(read: unknown, before: unknown): unknown {
  const previous = (before as { gps?: unknown } | null)?.gps;
  if (!previous || read === null || typeof read !== 'object') return read ?? before ?? null;
  const current = read as { gps?: unknown };
  return current.gps ? read : { ...current, gps: previous };
}

async function thumbHash(bytes: Buffer): Promise<string> {
  const { data, info } = await sharp(bytes).resize(100, 100, { fit: 'inside' }).ensureAlpha().raw().toBuffer({ resolveWithObject: true });
  return Buffer.from(rgbaToThumbHash(info.width, info.height, data)).toString('base64');
}

export function createProcessing(deps: ProcessingDeps): Processing {
  const { catalog, store, variants, runs } = deps;

  /** Times steps; their runs are written together by flush, once per job (each write is a commit). */
  function timer(imageId: string) {
    const done: StepRun[] = [];
    return {
      async timed<T>(step: ProcessingStep, work: () => Promise<T>): Promise<T> {
        const started = performance.now();
        try {
          const result = await work();
          done.push({ step, ok: true, durationMs: performance.now() - started });
          return result;
        } catch (err) {
          done.push({ step, ok: false, durationMs: performance.now() - started });
          throw err;
        }
      },
      flush: async (): Promise<void> => {
        if (done.length > 0) await runs.recordAll(imageId, done.splice(0));
      },
    };
  }

  /** The smallest preset, rendered as a still image that sharp reads, for placeholders and captions. */
  async function presetBytes(image: ImageRecord, preset: string, format: OutputFormat, rendered: readonly RenderedVariant[] = []): Promise<Buffer> {
    const plan = variants.plan(image, preset, { format });
    const variant = rendered.find((v) => v.key === plan.key) ?? (await variants.get(image, plan, 'job'));
    return variant.bytes ?? readBlob(store, variant.key);
  }

  return {
    async process(imageId) {
      const image = await catalog.getAnyImage(imageId);
      if (!image) return; // deleted meanwhile: nothing left to do
      const { timed, flush } = timer(imageId);
      try {
        // The original is read once, for the EXIF and every preset.
        const original = await readBlob(store, originalKey(image.sha256));
        // Ingest reads the EXIF from the bytes it holds; only what it could not see (metadata past a large file's
        // start) is read here. A location taken out at ingest lives only in the metadata read then: keep it.
        const exif = image.exif ?? keepLocation(await timed('exif', () => deps.extractExif(original)), image.exif);
        let rendered: RenderedVariant[];
        try {
          // The first full decode of the original: ingest checked its structure, this proves its pixels.
          rendered = await timed('variants', () => variants.pregenerate(image, formatsFor(image), original, true));
        } catch (err) {
          if (!(err instanceof ImgdError && err.code === 'corrupt_image')) throw err;
          await flush();
          // The image's own fault, not the job's: no retry; it stops being served and counts as a failed upload.
          await catalog.failUpload(imageId, 'corrupt_image', err.message.replace(/^The variant cannot be made/, 'The image cannot be decoded'));
          return;
        }
        const presets = variants.presetNames();
        const placeholder =
          presets[0] === undefined ? null : await timed('placeholder', async () => thumbHash(await presetBytes(image, presets[0]!, 'webp', rendered)));
        await flush();
        await catalog.updateImage(imageId, { exif: exif ?? null, placeholder, status: 'ready', error: null }, 'image.processed');
      } catch (err) {
        // A failed step is recorded too; the error itself goes on to the job runner.
        await flush().catch(() => undefined);
        throw err;
      }
    },

    async caption(imageId) {
      const image = await catalog.getAnyImage(imageId);
      const captioner = deps.captioner;
      if (!image || !captioner) return;
      const preset = variants.presetNames().at(-1);
      if (preset === undefined) return;
      const { timed, flush } = timer(imageId);
      const text = await timed('caption', async () => captioner(image, await presetBytes(image, preset, 'jpeg'))).finally(flush);
      if (text !== undefined) await catalog.updateImage(imageId, { caption: text });
    },

    async markFailed(imageId, reason) {
      await catalog.updateImage(imageId, { status: 'failed', error: reason.slice(0, 500) }, 'image.failed');
    },
  };
}
