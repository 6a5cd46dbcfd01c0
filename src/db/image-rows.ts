// An image between its row in the images table and the record the core reads.
import type { Selectable } from 'kysely';
import type { ImageFormat } from '../config.js';
import type { NewImage } from '../core/images/catalog.js';
import type { ImageRecord, ImageStatus, Visibility } from '../core/images/image.js';
import type { ImagesTable } from './schema.js';

export type ImageRow = Selectable<ImagesTable>;

export function toRecord(row: ImageRow): ImageRecord {
  return {
    id: row.id,
    filename: row.filename,
    urlKey: row.url_key,
    originalName: row.original_name,
    sha256: row.sha256,
    format: row.format as ImageFormat,
    contentType: row.content_type,
    bytes: Number(row.bytes),
    width: row.width,
    height: row.height,
    frames: row.frames,
    hasAlpha: Boolean(row.has_alpha),
    status: row.status as ImageStatus,
    error: row.error,
    visibility: row.visibility as Visibility,
    key: row.key,
    description: row.description,
    ownerId: row.owner_id,
    exif: row.exif === null ? null : (JSON.parse(row.exif) as unknown),
    placeholder: row.placeholder,
    caption: row.caption,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    trashedAt: row.trashed_at,
  };
}

export function toRow(image: NewImage): ImageRow {
  return {
    id: image.id,
    filename: image.filename,
    url_key: image.urlKey,
    original_name: image.originalName,
    sha256: image.sha256,
    format: image.format,
    content_type: image.contentType,
    bytes: image.bytes,
    width: image.width,
    height: image.height,
    frames: image.frames,
    status: image.status,
    error: image.error,
    visibility: image.visibility,
    key: image.key,
    description: image.description,
    owner_id: image.ownerId,
    exif: image.exif == null ? null : JSON.stringify(image.exif),
    placeholder: null,
    has_alpha: image.hasAlpha ? 1 : 0,
    caption: null,
    created_at: image.createdAt,
    updated_at: image.createdAt,
    trashed_at: null,
  };
}
