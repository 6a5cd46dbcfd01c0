// `imgd import <folder> --keep-names`: a seed's upload folder moved in through the upload use case, every file under its own name.
import { createReadStream } from 'node:fs';
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import type { Core } from '../app.js';
import { ImgdError } from '../core/errors.js';
import { ADMIN, type Actor } from '../core/access/actor.js';
import type { Visibility } from '../core/images/image.js';

/** Whose images the files become: img_handler's (the admin's, private) or media_server's (token uploads, public). */
export type FolderProfile = 'img_handler' | 'media_server';

export interface FolderImportReport {
  readonly imported: number;
  /** Names an image already has (a re-run, or an earlier import): left alone. */
  readonly present: number;
  readonly skipped: number;
}

/** What a file becomes, per profile: the same owner, visibility and credential as an upload through that profile. */
async function uploaderFor(core: Core, profile: FolderProfile): Promise<{ actor: Actor; visibility: Visibility }> {
  if (profile === 'img_handler') return { actor: ADMIN, visibility: 'private' };
  const ownerName = core.config.auth.uploadTokenOwner;
  const owner = ownerName ? await core.accounts.userByName(ownerName) : undefined;
  // As media_server's token uploads: deletable later with the seed's DELETE /media/<name>?token=.
  return { actor: { kind: 'upload_token', grant: { tokenId: null, ownerId: owner?.id ?? null, key: null, maxBytes: null, singleUse: false } }, visibility: 'public' };
}

/**
 * Uploads each file of `dir` (not its subfolders) named exactly as it is there, so the seed's URLs
 * (`/image/<name>`, `/media/<name>`) find the same bytes. A name an image already has is left alone, so a
 * re-run adds nothing; what the core refuses (not an image, too large...) is reported and skipped.
 */
export async function importFolder(core: Core, dir: string, profile: FolderProfile, say: (line: string) => void): Promise<FolderImportReport> {
  const { actor, visibility } = await uploaderFor(core, profile);
  const entries = (await readdir(dir, { withFileTypes: true })).sort((a, b) => a.name.localeCompare(b.name));
  let imported = 0;
  let present = 0;
  let skipped = 0;
  for (const entry of entries) {
    if (!entry.isFile()) {
      say(`skipped ${entry.name}: not a file\n`);
      skipped += 1;
      continue;
    }
    if (await core.catalog.getImageByFilename(entry.name)) {
      present += 1;
      continue;
    }
    const batch = await core.uploads.begin({
      actor,
      ip: null,
      defaults: { visibility },
      name: (_file, attempt) => {
        // Another writer took the name since the look above: never a different name, never a replaced image.
        if (attempt > 0) throw new ImgdError('conflict', `an image named ${entry.name} already exists`);
        return entry.name;
      },
    });
    try {
      await batch.receive(createReadStream(path.join(dir, entry.name)), entry.name);
    } catch (err) {
      const error = await batch.abort(err instanceof ImgdError ? err : new ImgdError('internal', (err as Error).message), entry.name);
      say(`skipped ${entry.name}: ${error.message}\n`);
      skipped += 1;
      continue;
    }
    const { items, errors } = await batch.finish({});
    if (items[0]) {
      imported += 1;
    } else {
      say(`skipped ${entry.name}: ${errors[0]?.error.message ?? 'refused'}\n`);
      skipped += 1;
    }
  }
  return { imported, present, skipped };
}
