// Peer "raw sharp": the same libvips work imgd does, as a plain script with the same concurrency and sharp settings.
//   thumbs <list> <concurrency>          256 px JPEG thumbnails (S5), as imgd's `small` preset renders them
//   process <list> <concurrency> <out>   EXIF, both presets in WebP and JPEG, a ThumbHash (S6), as imgd's job does
// Prints one JSON line: { count, seconds }. The clock starts after the modules have loaded.
import { readFileSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import exifr from 'exifr';
import sharp, { type Sharp } from 'sharp';
import { rgbaToThumbHash } from 'thumbhash';

const [mode, listFile, concurrencyArg, outDir] = process.argv.slice(2);
if (!mode || !listFile) throw new Error('usage: raw-sharp.ts thumbs|process <list> <concurrency> [outDir]');
const files = readFileSync(listFile, 'utf8').split('\n').filter(Boolean);
const concurrency = Number(concurrencyArg ?? 4);

// imgd's defaults: SHARP_CACHE_MB=0 (no operation cache), SHARP_CONCURRENCY=0 (libvips picks), 40 MP input limit.
sharp.cache(false);
const LIMIT = 40_000_000;
const PRESETS = [256, 1024];

const fit = (bytes: Buffer, size: number): Sharp =>
  sharp(bytes, { limitInputPixels: LIMIT, failOn: 'none' }).rotate().resize({ width: size, height: size, fit: 'inside', withoutEnlargement: true });

async function thumb(file: string): Promise<void> {
  await fit(await readFile(file), 256).jpeg({ quality: 80, mozjpeg: false }).toBuffer();
}

async function processOne(file: string, index: number): Promise<void> {
  const bytes = await readFile(file);
  await exifr.parse(bytes, { tiff: true, exif: true, gps: true });
  let smallWebp: Buffer | undefined;
  for (const size of PRESETS) {
    const webp = await fit(bytes, size).webp({ quality: 80, effort: 4 }).toBuffer();
    const jpeg = await fit(bytes, size).jpeg({ quality: 80, mozjpeg: false }).toBuffer();
    smallWebp ??= webp;
    await writeFile(path.join(outDir!, `${index}-${size}.webp`), webp);
    await writeFile(path.join(outDir!, `${index}-${size}.jpg`), jpeg);
  }
  const { data, info } = await sharp(smallWebp).resize(100, 100, { fit: 'inside' }).ensureAlpha().raw().toBuffer({ resolveWithObject: true });
  rgbaToThumbHash(info.width, info.height, data);
}

const work = mode === 'thumbs' ? (file: string) => thumb(file) : (file: string, i: number) => processOne(file, i);
const started = performance.now();
let next = 0;
await Promise.all(
  Array.from({ length: concurrency }, async () => {
    for (let i = next++; i < files.length; i = next++) await work(files[i]!, i);
  }),
);
process.stdout.write(`${JSON.stringify({ count: files.length, seconds: (performance.now() - started) / 1000 })}\n`);
