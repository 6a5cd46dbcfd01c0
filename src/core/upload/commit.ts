// Committing a checked upload: its bytes first (flushed, then published in the store under their hash), then one
// transaction for the image row, its blob reference, its jobs, the attempt record and the audit entry.
import { fsyncPath } from '../../lib/fsync.js';
import { describeActor } from '../access/actor.js';
import type { UploadTerms } from '../access/policy.js';
import type { AuditEntry } from '../audit.js';
import { FORMATS } from '../formats.js';
import { newId, newUrlKey } from '../ids.js';
import type { ImageRecord } from '../images/image.js';
import { originalKey } from '../storage/blob-keys.js';
import { attemptRecord } from './attempts.js';
import { checkReceived, type Checked } from './check.js';
import { collisionName, slugStem } from './naming.js';
import type { UploadRequest, UploadsDeps } from './upload-api.js';
import type { Received } from './received.js';

export /** A file whose bytes an image already has, under `skipStoredBytes`: not an error, not an image. */
class AlreadyStored extends Error {
  constructor(readonly sha256: string) {
    super('These bytes are stored already.');
  }
}

/** Checks and commits one received file; rejects with AlreadyStored, an ImgdError, or a fault of a service. */
export type CommitOne = (received: Received, request: UploadRequest, terms: UploadTerms) => Promise<ImageRecord>;

export function createCommitter(deps: UploadsDeps): CommitOne {
  const { catalog, store } = deps;

  /** Writes the bytes under their hash unless an image has them already; true when this call wrote them. */
  async function storeBytes(sha256: string, content: Buffer | string, look: 'catalog' | 'store'): Promise<boolean> {
    const key = originalKey(sha256);
    if (look === 'catalog' ? await catalog.blobStored(sha256) : await store.exists(key)) return false;
    if (typeof content === 'string') {
      // Flushed once, here, after every rewrite (sanitizing, location), and only when the bytes are kept.
      await fsyncPath(content);
      await store.putFile(key, content);
    } else {
      await store.putBytes(key, content);
    }
    return true;
  }

  /** Uploads of this process writing or committing bytes, by SHA-256: a failed commit leaves bytes the others need. */
  const inFlight = new Map<string, number>();

  /** Removes the bytes a failed commit wrote when no row names them; failing that, `gc` does after its grace period. */
  async function dropOrphan(sha256: string): Promise<void> {
    if ((inFlight.get(sha256) ?? 0) > 1) return;
    try {
      if (!(await catalog.blobStored(sha256))) await store.delete(originalKey(sha256));
    } catch {
      // The database or the store failed too: the bytes stay for gc, and the commit's own error is what is reported.
    }
  }

  async function commitOne(received: Received, request: UploadRequest, fields: UploadTerms): Promise<ImageRecord> {
    const checked = await checkReceived(deps, received, request);
    const { sha256 } = checked;
    if (request.skipStoredBytes && (await catalog.blobStored(sha256))) throw new AlreadyStored(sha256);
    inFlight.set(sha256, (inFlight.get(sha256) ?? 0) + 1);
    let wrote = false;
    try {
      // The bytes are in place before any row names them.
      wrote = await storeBytes(sha256, checked.content, 'catalog');
      return await commitRow(received, request, fields, checked, wrote);
    } catch (err) {
      // Nothing partial: bytes no row names (the database full, or away) go with the failed upload.
      if (wrote) await dropOrphan(sha256);
      throw err;
    } finally {
      const left = inFlight.get(sha256)! - 1;
      if (left === 0) inFlight.delete(sha256);
      else inFlight.set(sha256, left);
    }
  }

  async function commitRow(received: Received, request: UploadRequest, fields: UploadTerms, checked: Checked, wrote: boolean): Promise<ImageRecord> {
    const info = FORMATS[checked.format];
    const id = newId();
    const createdAt = new Date().toISOString();
    const stem = slugStem(received.originalName ?? undefined);
    const filename = (attempt: number): string => {
      if (attempt === 0) return checked.firstName;
      return request.name ? request.name({ originalName: received.originalName, format: checked.format, extension: info.extension }, attempt) : collisionName(stem, info.extension);
    };
    const audit: AuditEntry = {
      actor: describeActor(request.actor),
      action: 'image.upload',
      target: id,
      ip: request.ip,
      details: { bytes: checked.bytes },
    };
    // An accepted attempt counts the bytes stored (comments, trailing data and a location may have been cut out).
    const attempt = attemptRecord(id, received.originalName, received.startedAt, checked.bytes);
    const { image, firstReference } = await catalog.commitUpload({
      image: {
        id,
        urlKey: newUrlKey(),
        originalName: received.originalName,
        sha256: checked.sha256,
        format: checked.format,
        contentType: info.contentType,
        bytes: checked.bytes,
        width: checked.width,
        height: checked.height,
        frames: checked.frames,
        hasAlpha: checked.hasAlpha,
        status: deps.initialStatus,
        error: null,
        visibility: fields.fields.visibility,
        key: fields.fields.key,
        description: fields.fields.description,
        ownerId: fields.ownerId,
        exif: checked.exif,
        createdAt,
      },
      filename,
      blob: { sha256: checked.sha256, bytes: checked.bytes, format: checked.format, contentType: info.contentType, width: checked.width, height: checked.height },
      jobs: deps.jobsFor(id),
      attempt,
      audit,
      steps: checked.exifMs === undefined ? [] : [{ step: 'exif', ok: true, durationMs: checked.exifMs }],
    });
    // A delete of the last image with these bytes may have removed them between our look and our commit.
    if (firstReference && !wrote) await storeBytes(checked.sha256, checked.content, 'store');
    deps.onCommitted();
    request.onAttempt?.(attempt);
    deps.onAttempt('success', null, checked.bytes);
    deps.logAudit({ ...audit, details: { filename: image.filename, bytes: image.bytes } });
    return image;
  }

  return commitOne;
}
