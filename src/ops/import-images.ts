// `imgd import <folder>`: every file under a folder, recursively, through the upload use case; bytes already stored are skipped.
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { Core } from '../app.js';
import { derivedPublicUrl } from '../config.js';
import { ImgdError } from '../core/errors.js';
import type { Actor } from '../core/access/actor.js';
import type { ImageRecord, Visibility } from '../core/images/image.js';
import { imageUrl } from '../http/image-view.js';

export interface ImportOptions {
  readonly actor: Actor;
  readonly visibility: Visibility;
  readonly key?: string | undefined;
}

export interface ImportedFile {
  /** The file's path under the folder. */
  readonly file: string;
  readonly id?: string;
  readonly url?: string;
  readonly code?: string;
  readonly reason?: string;
}

export interface ImportReport {
  readonly folder: string;
  readonly files: number;
  readonly imported: ImportedFile[];
  /** Files whose bytes an image already has (a re-run, a copy in two places): nothing added. */
  readonly present: ImportedFile[];
  /** Files the upload checks refused (not an image, too large...), each with the reason. */
  readonly refused: ImportedFile[];
}

export interface ImportProgress {
  readonly done: number;
  readonly total: number;
  readonly file: string;
}

/** Every regular file under `dir` (symlinks to files included; symlinked folders not followed: no loops), sorted. */
export async function listFiles(dir: string, under = ''): Promise<string[]> {
  const entries = (await readdir(path.join(dir, under), { withFileTypes: true })).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const files: string[] = [];
  for (const entry of entries) {
    const relative = path.join(under, entry.name);
    if (entry.isDirectory()) files.push(...(await listFiles(dir, relative)));
    else if (entry.isFile() || (entry.isSymbolicLink() && (await stat(path.join(dir, relative)).catch(() => undefined))?.isFile())) files.push(relative);
  }
  return files;
}

async function sha256Of(file: string): Promise<string> {
  const hash = createHash('sha256');
  await pipeline(createReadStream(file), hash);
  return hash.digest('hex');
}

type Outcome = { kind: 'imported'; image: ImageRecord } | { kind: 'present' } | { kind: 'refused'; error: ImgdError };

async function importOne(core: Core, file: string, name: string, options: ImportOptions): Promise<Outcome> {
  // Bytes stored as they are (most files) are known without a decode; bytes the ingest changes (a location cut out)
  // are caught after the checks, by skipStoredBytes.
  if (await core.catalog.blobStored(await sha256Of(file))) return { kind: 'present' };
  const batch = await core.uploads.begin({ actor: options.actor, ip: null, defaults: { visibility: options.visibility }, skipStoredBytes: true });
  try {
    await batch.receive(createReadStream(file), name);
  } catch (err) {
    if (!(err instanceof ImgdError)) throw err;
    return { kind: 'refused', error: await batch.abort(err, name) };
  }
  const { items, errors, alreadyStored } = await batch.finish(options.key ? { key: options.key } : {});
  if (items[0]) return { kind: 'imported', image: items[0] };
  if (alreadyStored?.length) return { kind: 'present' };
  return { kind: 'refused', error: errors[0]?.error ?? new ImgdError('internal', 'refused') };
}

/**
 * Imports the folder file by file, as uploads by `options.actor` (owner, visibility and checks as for an upload); an
 * error that is no refusal (the database or store away) stops it, and what was imported stays.
 */
export async function importImages(core: Core, folder: string, options: ImportOptions, progress: (p: ImportProgress) => void): Promise<ImportReport> {
  const files = await listFiles(folder);
  const report: ImportReport = { folder, files: files.length, imported: [], present: [], refused: [] };
  const { config } = core;
  const base = config.publicUrl ?? derivedPublicUrl(config.host, config.port);
  for (const [i, file] of files.entries()) {
    progress({ done: i, total: files.length, file });
    const outcome = await importOne(core, path.join(folder, file), path.basename(file), options);
    if (outcome.kind === 'imported') {
      report.imported.push({ file, id: outcome.image.id, url: imageUrl(base, outcome.image, config.imageUrls) });
    } else if (outcome.kind === 'present') report.present.push({ file });
    else report.refused.push({ file, code: outcome.error.code, reason: outcome.error.message });
  }
  progress({ done: files.length, total: files.length, file: '' });
  return report;
}
